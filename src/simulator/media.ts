/**
 * Media upload helpers: a minimal multipart/form-data reader, MIME guessing, names, and what the media plugins
 * "extract".
 */
import { createHash } from 'node:crypto';

export interface MultipartPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** The boundary of a multipart/form-data content-type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Just enough multipart parsing for the raw upload route: part names, filenames, types and bytes. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    let start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd !== -1 && headerEnd <= end) {
      const headers = body.subarray(start, headerEnd).toString('utf8');
      const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      const contentType = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim();
      if (name !== undefined) parts.push({ name, filename, contentType, data: body.subarray(headerEnd + 4, end) });
    }
    pos = next;
  }
  return parts;
}

const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
};

export function guessMime(nameOrUrl: string): string {
  const data = /^data:([^;,]+)/i.exec(nameOrUrl);
  if (data) return data[1]!.toLowerCase();
  const path = nameOrUrl.split(/[?#]/)[0] ?? '';
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXT[ext]) || 'application/octet-stream';
}

/** A file name from a URL's last path segment ("file" for data: URLs and bare hosts). */
export function nameFromUrl(url: string): string {
  let path: string;
  try {
    const u = new URL(url);
    if (u.protocol === 'data:') return 'file';
    path = u.pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? '';
  }
  const seg = path
    .split('/')
    .filter((s) => s.length > 0)
    .pop();
  if (!seg) return 'file';
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/** The `context` the simulator "extracts" from a file. */
export function simulatedContext(name: string): string {
  return `[simulated extract of ${name}]`;
}

/**
 * The `context` the audio plugin "transcribes": fixed for the same bytes (for a URL upload, which the simulator
 * does not fetch, the URL's), so a test can predict it from what it sent: the first 12 hex digits of their SHA-256.
 */
export function simulatedTranscript(data: Buffer): string {
  return `[simulated transcript ${createHash('sha256').update(data).digest('hex').slice(0, 12)}]`;
}
