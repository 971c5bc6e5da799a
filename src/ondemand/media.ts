/**
 * OnDemand's media API, the upstream half of images, files and audio: which plugin reads which type, file names,
 * and the multipart body of the raw upload. docs/ondemand-protocol.md §5; the uploads themselves are
 * src/upstream/media-upload.ts, the request half (validation, the attachment blocks) src/core/media.ts.
 */
import { randomBytes } from 'node:crypto';

/** OnDemand's media plugins (docs/ondemand-protocol.md §5). */
export const MEDIA_PLUGINS = Object.freeze({
  document: 'plugin-1713954536',
  image: 'plugin-1713958591',
  audio: 'plugin-1713958830',
});

export const DEFAULT_MEDIA_TYPES: readonly string[] = Object.freeze([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'audio/wav',
  'audio/mpeg',
]);

export interface UploadedMedia {
  name: string;
  mimeType: string;
  /** OnDemand's extracted text (a caption for images); '' when it gave none */
  context: string;
}

/** One file to upload: its name, type, the plugin that reads it, and where its bytes are. */
export interface MediaUpload {
  name: string;
  mimeType: string;
  plugin: string;
  source: { kind: 'url'; url: string } | { kind: 'bytes'; data: Buffer };
}

// ---- types and names (pure) ---------------------------------------------------------------------------------------

const EXT_BY_MIME: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/csv': 'csv',
  'application/json': 'json',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
};
const MIME_BY_EXT: Record<string, string> = Object.fromEntries([
  ...Object.entries(EXT_BY_MIME).map(([mime, ext]) => [ext, mime]),
  ['jpeg', 'image/jpeg'],
  ['markdown', 'text/markdown'],
]);

/** The usual file extension of a type, or undefined. */
export function extensionFor(mime: string): string | undefined {
  return EXT_BY_MIME[mime];
}

export function mimeFromName(name: string): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(name.split(/[?#]/)[0] ?? '')?.[1]?.toLowerCase();
  return ext === undefined ? undefined : MIME_BY_EXT[ext];
}

/** The type from the first bytes, for data without a (useful) declared type. */
export function sniffMime(data: Buffer): string | undefined {
  if (data.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (/^GIF8[79]a/.test(data.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WAVE') return 'audio/wav';
  if (data.subarray(0, 3).toString('latin1') === 'ID3' || isMp3FrameHeader(data)) return 'audio/mpeg';
  return undefined;
}

/**
 * An MPEG audio layer III frame header: 11 sync bits, a version that is not the reserved one, layer bits 01.
 * The layer check keeps AAC's ADTS header (same sync, layer 00) out; JPEG's 0xFFD8 fails the sync.
 */
function isMp3FrameHeader(data: Buffer): boolean {
  const b1 = data[1] ?? 0;
  return data[0] === 0xff && (b1 & 0xe0) === 0xe0 && (b1 & 0x18) !== 0x08 && (b1 & 0x06) === 0x02;
}

export function isAllowedType(mime: string, allowed: readonly string[]): boolean {
  const m = mime.toLowerCase();
  return allowed.some((a) => {
    const p = a.trim().toLowerCase();
    return p === m || p === '*/*' || (p.endsWith('/*') && m.startsWith(p.slice(0, -1)));
  });
}

export function pluginFor(mime: string): string {
  if (mime.startsWith('image/')) return MEDIA_PLUGINS.image;
  if (mime.startsWith('audio/')) return MEDIA_PLUGINS.audio;
  return MEDIA_PLUGINS.document;
}

/** A file name safe for a multipart header: no quotes, slashes or line breaks, at most 200 characters. */
export function safeName(name: string): string {
  const cleaned = name
    .replace(/[\r\n"\\/]+/g, '_')
    .trim()
    .slice(0, 200);
  return cleaned === '' ? 'file' : cleaned;
}

// ---- the raw upload's body (pure) -------------------------------------------------------------------------------

/** multipart/form-data for the raw upload: the file, then the text fields (`plugins` once per id). */
export function buildMultipart(file: { name: string; mimeType: string; data: Buffer }, fields: Array<[string, string]>): { body: Buffer; contentType: string } {
  const boundary = `----odgw${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName(file.name)}"\r\nContent-Type: ${file.mimeType}\r\n\r\n`),
    file.data,
    Buffer.from('\r\n'),
  ];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value.replace(/[\r\n]+/g, ' ')}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
