/**
 * Images and files: OpenAI `image_url` / `file` parts and Anthropic `image` / `document` blocks become OnDemand
 * media uploads (ondemand-api.md section 6), bound to the request's fresh session, and their extracted text is
 * put into the user turn as an `<attachment>` block so the model sees it whatever the session's plugins do.
 *
 * Two steps: `validate` (before any key is leased: size, type, well-formed data: URLs → a 400 naming the
 * message) and, per attempt, `upload` with the attempt's key and session. http(s) URLs are never fetched by the
 * gateway (no SSRF from here): they go to the JSON upload, which makes OnDemand fetch them. data: URLs and
 * base64 file data go to the multipart upload. The rules: docs/models.md.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError, invalidRequest } from '../core/errors.js';
import type { GatewayRequest, MediaPart, Message } from '../core/types.js';
import type { OnDemandClient } from './client.js';
import { UpstreamFailure } from './failure.js';

/** OnDemand's media plugins (ondemand-api.md section 6). */
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
]);

/** More parts than this in one request is refused (each is an upstream upload; free plans allow 5 a minute). */
export const MAX_MEDIA_PER_REQUEST = 20;

export interface MediaLimits {
  /** MEDIA_MAX_BYTES: decoded size of one data: URL or file */
  maxBytes: number;
  /** MEDIA_ALLOWED_TYPES: exact MIME types or `type/*` */
  allowedTypes: readonly string[];
}

/** One media part, checked and ready to upload. */
export interface ValidMedia {
  part: MediaPart;
  name: string;
  mimeType: string;
  plugin: string;
  source: { kind: 'url'; url: string } | { kind: 'bytes'; data: Buffer };
}

export interface UploadedMedia {
  name: string;
  mimeType: string;
  /** OnDemand's extracted text (a caption for images); '' when it gave none */
  context: string;
}

// ---- validation (pure) ---------------------------------------------------------------------------------------

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
  return undefined;
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

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function badMedia(message: string, param: string, code: string): GatewayError {
  return invalidRequest(message, param, code);
}

/** `data:[<mime>][;params][;base64],<payload>` → type and bytes; throws a 400. */
export function decodeDataUrl(url: string, maxBytes: number, param: string): { mimeType: string | undefined; data: Buffer } {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) throw badMedia('Invalid data: URL: expected data:<type>;base64,<data>.', param, 'invalid_media');
  const meta = url.slice(5, comma).split(';').map((s) => s.trim());
  const mimeType = meta[0] !== undefined && meta[0] !== '' ? meta[0].toLowerCase() : undefined;
  const payload = url.slice(comma + 1);
  if (meta.some((m) => m.toLowerCase() === 'base64')) return { mimeType, data: decodeBase64(payload, maxBytes, param) };
  let text: string;
  try {
    text = decodeURIComponent(payload);
  } catch {
    throw badMedia('Invalid data: URL: its data is not valid percent-encoding.', param, 'invalid_media');
  }
  const data = Buffer.from(text, 'utf8');
  if (data.length > maxBytes) throw tooLarge(data.length, maxBytes, param);
  return { mimeType, data };
}

function decodeBase64(payload: string, maxBytes: number, param: string): Buffer {
  const compact = payload.replace(/\s+/g, '');
  // checked before decoding, so a huge payload is refused without allocating its bytes
  const estimated = Math.floor((compact.length * 3) / 4) - (compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0);
  if (estimated > maxBytes) throw tooLarge(estimated, maxBytes, param);
  if (!BASE64.test(compact)) throw badMedia('Invalid base64 data in a media part.', param, 'invalid_media');
  const data = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  if (data.length === 0) throw badMedia('A media part is empty.', param, 'invalid_media');
  return data;
}

function tooLarge(size: number, max: number, param: string): GatewayError {
  return badMedia(`A media part is ${size} bytes; this gateway accepts at most ${max} bytes per file (MEDIA_MAX_BYTES).`, param, 'media_too_large');
}

function safeName(name: string): string {
  const cleaned = name.replace(/[\r\n"\\/]+/g, '_').trim().slice(0, 200);
  return cleaned === '' ? 'file' : cleaned;
}

function nameFromHttpUrl(url: URL): string | undefined {
  const seg = url.pathname.split('/').filter((s) => s !== '').pop();
  if (seg === undefined) return undefined;
  try {
    return safeName(decodeURIComponent(seg));
  } catch {
    return safeName(seg);
  }
}

/** Checks one part; `index` numbers unnamed parts (image-1.png, file-2.pdf). Throws a 400 GatewayError. */
export function validateMediaPart(part: MediaPart, index: number, limits: MediaLimits, param: string): ValidMedia {
  const url = part.url.trim();
  const stem = `${part.kind}-${index}`;
  const withExt = (mime: string): string => `${stem}${EXT_BY_MIME[mime] ? `.${EXT_BY_MIME[mime]}` : ''}`;
  const checkType = (mime: string): void => {
    if (!isAllowedType(mime, limits.allowedTypes)) {
      throw badMedia(`Media of type ${mime} is not accepted here; accepted: ${limits.allowedTypes.join(', ')} (MEDIA_ALLOWED_TYPES).`, param, 'unsupported_media_type');
    }
  };

  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badMedia('Invalid media URL.', param, 'invalid_media');
    }
    const fromName = part.name ?? nameFromHttpUrl(parsed);
    const guessed = part.mimeType ?? (fromName !== undefined ? mimeFromName(fromName) : undefined);
    // the upstream fetches it and judges what it finds; a type we can tell from the name is checked here already
    if (guessed !== undefined) checkType(guessed);
    const mimeType = guessed ?? (part.kind === 'image' ? 'image/*' : 'application/octet-stream');
    const plugin = part.kind === 'image' ? MEDIA_PLUGINS.image : pluginFor(mimeType);
    return { part, name: safeName(fromName ?? stem), mimeType, plugin, source: { kind: 'url', url: parsed.href } };
  }

  let declared: string | undefined;
  let data: Buffer;
  if (/^data:/i.test(url)) {
    ({ mimeType: declared, data } = decodeDataUrl(url, limits.maxBytes, param));
  } else if (part.kind === 'file' && BASE64.test(url.replace(/\s+/g, '').slice(0, 4096))) {
    // OpenAI's file_data may be bare base64 without the data: prefix
    data = decodeBase64(url, limits.maxBytes, param);
  } else {
    throw badMedia('Media must be an http(s) URL or a data: URL (or base64 file data).', param, 'invalid_media');
  }
  if (data.length > limits.maxBytes) throw tooLarge(data.length, limits.maxBytes, param);
  const useful = declared !== undefined && declared !== 'application/octet-stream' ? declared : undefined;
  const mimeType = part.mimeType ?? useful ?? sniffMime(data) ?? (part.name !== undefined ? mimeFromName(part.name) : undefined) ?? 'application/octet-stream';
  checkType(mimeType);
  const name = safeName(part.name ?? withExt(mimeType));
  return { part, name, mimeType, plugin: pluginFor(mimeType), source: { kind: 'bytes', data } };
}

/** Every media part of the request, checked; [] when there is none. Throws a 400 GatewayError. */
export function validateMedia(req: GatewayRequest, limits: MediaLimits): ValidMedia[] {
  const out: ValidMedia[] = [];
  req.messages.forEach((m, i) => {
    for (const part of m.media ?? []) {
      if (out.length >= MAX_MEDIA_PER_REQUEST) {
        throw badMedia(`At most ${MAX_MEDIA_PER_REQUEST} images or files per request.`, 'messages', 'too_many_media');
      }
      out.push(validateMediaPart(part, out.length + 1, limits, `messages[${i}].content`));
    }
  });
  return out;
}

// ---- the query text (pure) ------------------------------------------------------------------------------------

const CLOSING_ATTACHMENT = /^([ \t]*)<(?=\/attachment[\s>])/gim;

/** `<attachment name=".." type="..">context</attachment>`, appended to the message that carried the media. */
export function attachmentBlock(u: UploadedMedia): string {
  const attr = (v: string): string => v.replace(/[&"<>\r\n]/g, (ch) => ({ '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' })[ch] ?? ' ');
  const body = u.context.trim() === '' ? '(no text could be extracted)' : u.context.trim().replace(CLOSING_ATTACHMENT, '$1<\u200B');
  return `<attachment name="${attr(u.name)}" type="${attr(u.mimeType)}">\n${body}\n</attachment>`;
}

/** The request with each uploaded part's block appended to its message (matched by the part object). */
export function withAttachments(req: GatewayRequest, uploaded: ReadonlyMap<MediaPart, UploadedMedia>): GatewayRequest {
  if (uploaded.size === 0) return req;
  const messages = req.messages.map((m): Message => {
    const blocks = (m.media ?? []).map((p) => uploaded.get(p)).filter((u): u is UploadedMedia => u !== undefined).map(attachmentBlock);
    if (blocks.length === 0) return m;
    return { ...m, content: [m.content, ...blocks].filter((s) => s !== '').join('\n\n') };
  });
  return { ...req, messages };
}

// ---- upload (I/O) ---------------------------------------------------------------------------------------------

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

export type MediaClient = Pick<OnDemandClient, 'uploadMediaUrl' | 'uploadMediaRaw'>;

/** Re-labels an upload failure with the file's name; kind, status and code stay (the pool and engine judge them). */
function labelled(err: unknown, name: string): unknown {
  if (!(err instanceof UpstreamFailure)) return err;
  const detail = err.upstreamMessage ?? err.message;
  return new UpstreamFailure(err.message, {
    kind: err.kind,
    phase: 'media',
    ...(err.status !== undefined ? { status: err.status } : {}),
    ...(err.errorCode !== undefined ? { errorCode: err.errorCode } : {}),
    ...(err.retryAfterSec !== undefined ? { retryAfterSec: err.retryAfterSec } : {}),
    htmlBody: err.htmlBody,
    upstreamMessage: `uploading "${name}" to OnDemand's media API failed: ${detail}`,
    cause: err,
  });
}

export async function uploadOne(client: MediaClient, key: string, sessionId: string, m: ValidMedia, signal: AbortSignal): Promise<UploadedMedia> {
  let answer: unknown;
  try {
    if (m.source.kind === 'url') {
      answer = await client.uploadMediaUrl(key, { url: m.source.url, name: m.name, plugins: [m.plugin], responseMode: 'sync', sessionId }, signal);
    } else {
      const form = buildMultipart({ name: m.name, mimeType: m.mimeType, data: m.source.data }, [
        ['name', m.name],
        ['responseMode', 'sync'],
        ['sessionId', sessionId],
        ['plugins', m.plugin],
      ]);
      answer = await client.uploadMediaRaw(key, form, signal);
    }
  } catch (err) {
    throw labelled(err, m.name);
  }
  const data = (answer as { data?: Record<string, unknown> } | null)?.data;
  const failed = data?.['actionStatus'] === 'failed' || (typeof data?.['failedReason'] === 'string' && data['failedReason'] !== '');
  if (data === undefined || data === null || failed) {
    const reason = typeof data?.['failedReason'] === 'string' ? data['failedReason'] : 'no file record in the answer';
    // the file itself could not be processed: another key would not do better
    throw new UpstreamFailure(`media processing failed`, {
      kind: 'http',
      phase: 'media',
      status: 400,
      errorCode: 'media_processing_failed',
      upstreamMessage: `OnDemand could not process "${m.name}": ${reason.slice(0, 300)}`,
    });
  }
  const mime = typeof data['mimeType'] === 'string' && data['mimeType'] !== '' && m.mimeType.endsWith('/*') ? data['mimeType'] : m.mimeType;
  return { name: m.name, mimeType: mime, context: typeof data['context'] === 'string' ? data['context'] : '' };
}

/** What the engine calls per attempt (EngineDeps.prepareSession): upload with this key into this session. */
export type SessionPrep = (key: string, sessionId: string, request: GatewayRequest, signal: AbortSignal) => Promise<GatewayRequest>;

/**
 * The engine's `prepareSession` hook: validates the request's media up front (throws a 400) and returns the
 * per-attempt upload step, or undefined when the request carries no media.
 */
export function createMediaPreparer(client: MediaClient, limits: MediaLimits): (req: GatewayRequest) => SessionPrep | undefined {
  return (req) => {
    const media = validateMedia(req, limits);
    if (media.length === 0) return undefined;
    return async (key, sessionId, request, signal) => {
      const uploaded = new Map<MediaPart, UploadedMedia>();
      // one at a time: free plans allow 5 uploads a minute, and a failure stops the rest at once
      for (const m of media) uploaded.set(m.part, await uploadOne(client, key, sessionId, m, signal));
      return withAttachments(request, uploaded);
    };
  };
}

// ---- Anthropic blocks (for the Messages front end) ---------------------------------------------------------------

/**
 * An Anthropic `image` or `document` content block → a MediaPart (which then goes through the same validation
 * and upload). Sources: `base64` (media_type + data), `url`, and for documents `text` (plain text). Throws a 400
 * GatewayError naming `param` for anything else; callers render it in the Anthropic error shape.
 */
export function anthropicBlockToMediaPart(block: unknown, param: string): MediaPart {
  const b = (typeof block === 'object' && block !== null ? block : {}) as Record<string, unknown>;
  const kind = b['type'] === 'image' ? 'image' : b['type'] === 'document' ? 'file' : undefined;
  if (kind === undefined) throw badMedia(`${param}.type: expected "image" or "document".`, `${param}.type`, 'invalid_media');
  const source = (typeof b['source'] === 'object' && b['source'] !== null ? b['source'] : {}) as Record<string, unknown>;
  const title = typeof b['title'] === 'string' && b['title'].trim() !== '' ? b['title'].trim() : undefined;
  const named = (p: MediaPart): MediaPart => (title !== undefined ? { ...p, name: title } : p);
  const mediaType = typeof source['media_type'] === 'string' ? source['media_type'].toLowerCase() : undefined;
  switch (source['type']) {
    case 'base64': {
      if (typeof source['data'] !== 'string' || source['data'] === '') throw badMedia(`${param}.source.data must be base64 data.`, `${param}.source.data`, 'invalid_media');
      const mime = mediaType ?? (kind === 'image' ? 'image/png' : 'application/pdf');
      return named({ kind, url: `data:${mime};base64,${source['data']}`, mimeType: mime });
    }
    case 'url': {
      if (typeof source['url'] !== 'string' || !/^https?:\/\//i.test(source['url'])) {
        throw badMedia(`${param}.source.url must be an http(s) URL.`, `${param}.source.url`, 'invalid_media');
      }
      return named({ kind, url: source['url'] });
    }
    case 'text': {
      if (kind !== 'file' || typeof source['data'] !== 'string') throw badMedia(`${param}.source: a text source needs a document and string data.`, `${param}.source`, 'invalid_media');
      const mime = mediaType ?? 'text/plain';
      return named({ kind, url: `data:${mime};base64,${Buffer.from(source['data'], 'utf8').toString('base64')}`, mimeType: mime, name: title ?? 'document.txt' });
    }
    default:
      throw badMedia(`${param}.source.type: expected "base64", "url" or "text".`, `${param}.source.type`, 'invalid_media');
  }
}
