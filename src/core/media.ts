/**
 * Images, files and audio: the media parts every front end reads from its own content (chat `image_url` / `file` /
 * `input_audio` parts, Anthropic `image` / `document` blocks: src/frontends/anthropic/media.ts) become OnDemand
 * media uploads (docs/ondemand-protocol.md §5), bound to the request's fresh session, and
 * their extracted text (a transcript for audio) is put into the user turn as an `<attachment>` block so the model
 * sees it whatever the session's plugins do. The refusals of what cannot be taken are worded here too.
 *
 * Two steps: `validate` (before any key is leased: size, type, well-formed data: URLs → a 400 naming the
 * message) and, per attempt, `upload` with the attempt's key and session. http(s) URLs are never fetched by the
 * gateway (no SSRF from here): they go to the JSON upload, which makes OnDemand fetch them. data: URLs and
 * base64 file data go to the multipart upload. The rules: docs/models.md.
 */
import { type ErrorCode, type GatewayError, invalidRequest } from './errors.js';
import type { SessionPrepare, TraceHeaders } from './ports.js';
import type { GatewayRequest, MediaPart, Message } from './types.js';
import { extensionFor, isAllowedType, MEDIA_PLUGINS, mimeFromName, pluginFor, safeName, sniffMime, type MediaUpload, type UploadedMedia } from '../ondemand/media.js';

/** More parts than this in one request is refused (each is an upstream upload; free plans allow 5 a minute). */
export const MAX_MEDIA_PER_REQUEST = 20;

export interface MediaLimits {
  /** MEDIA_MAX_BYTES: decoded size of one data: URL or file */
  maxBytes: number;
  /** MEDIA_ALLOWED_TYPES: exact MIME types or `type/*` */
  allowedTypes: readonly string[];
}

/** One media part, checked and ready to upload. */
export interface ValidMedia extends MediaUpload {
  part: MediaPart;
}

// ---- validation (pure) ---------------------------------------------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function badMedia(message: string, param: string, code: ErrorCode): GatewayError {
  return invalidRequest(message, param, code);
}

/** `data:[<mime>][;params][;base64],<payload>` → type and bytes; throws a 400. */
export function decodeDataUrl(url: string, maxBytes: number, param: string): { mimeType: string | undefined; data: Buffer } {
  const comma = url.indexOf(',');
  if (!/^data:/i.test(url) || comma < 0) throw badMedia('Invalid data: URL: expected data:<type>;base64,<data>.', param, 'invalid_media');
  const meta = url
    .slice(5, comma)
    .split(';')
    .map((s) => s.trim());
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

function nameFromHttpUrl(url: URL): string | undefined {
  const seg = url.pathname
    .split('/')
    .filter((s) => s !== '')
    .pop();
  if (seg === undefined) return undefined;
  try {
    return safeName(decodeURIComponent(seg));
  } catch {
    return safeName(seg);
  }
}

/** The type an http(s) URL of each kind is taken to have when its name does not tell. */
const UNKNOWN_TYPE_OF_KIND: Readonly<Record<MediaPart['kind'], string>> = { image: 'image/*', audio: 'audio/*', file: 'application/octet-stream' };

/** Audio whose bytes are plainly of another type than its format says is refused before any upload. */
function checkAudioBytes(data: Buffer, mimeType: string, param: string): void {
  const found = sniffMime(data);
  if (found === undefined || found === mimeType) return;
  const said = extensionFor(mimeType) ?? mimeType;
  throw badMedia(`An audio part says its format is ${said}, but its data is ${found}.`, param, 'invalid_media');
}

/** Checks one part; `index` numbers unnamed parts (image-1.png, file-2.pdf). Throws a 400 GatewayError. */
export function validateMediaPart(part: MediaPart, index: number, limits: MediaLimits, param: string): ValidMedia {
  const url = part.url.trim();
  const stem = `${part.kind}-${index}`;
  const withExt = (mime: string): string => `${stem}${extensionFor(mime) ? `.${extensionFor(mime)}` : ''}`;
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
    const mimeType = guessed ?? UNKNOWN_TYPE_OF_KIND[part.kind];
    const plugin = part.kind === 'image' ? MEDIA_PLUGINS.image : part.kind === 'audio' ? MEDIA_PLUGINS.audio : pluginFor(mimeType);
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
  if (part.kind === 'audio') checkAudioBytes(data, mimeType, param);
  const name = safeName(part.name ?? withExt(mimeType));
  return { part, name, mimeType, plugin: pluginFor(mimeType), source: { kind: 'bytes', data } };
}

/** Every media part of the request, checked; [] when there is none. Throws a 400 GatewayError. */
export function validateMedia(req: GatewayRequest, limits: MediaLimits): ValidMedia[] {
  const out: ValidMedia[] = [];
  req.messages.forEach((m, i) => {
    for (const part of m.media ?? []) {
      if (out.length >= MAX_MEDIA_PER_REQUEST) {
        throw badMedia(`At most ${MAX_MEDIA_PER_REQUEST} images, files or audio parts per request.`, 'messages', 'too_many_media');
      }
      out.push(validateMediaPart(part, out.length + 1, limits, `messages[${i}].content`));
    }
  });
  return out;
}

// ---- audio, and what is refused (pure) -----------------------------------------------------------------------

/** OpenAI's `input_audio` formats, and the MIME type each is uploaded with. */
export const AUDIO_FORMATS: Readonly<Record<string, string>> = Object.freeze({ wav: 'audio/wav', mp3: 'audio/mpeg' });

/**
 * An OpenAI `input_audio` part's `data` (base64; a data: URL is taken too) and `format` → a MediaPart of kind
 * audio. `param` is the part's `input_audio` path. A format other than wav or mp3 is a 400 naming it.
 */
export function inputAudioToMediaPart(data: string, format: string, param: string): MediaPart {
  const mimeType = AUDIO_FORMATS[format.toLowerCase()];
  if (mimeType === undefined) {
    const accepted = Object.keys(AUDIO_FORMATS)
      .map((f) => `'${f}'`)
      .join(', ');
    throw invalidRequest(`Invalid '${param}.format': '${format}'. Audio input is accepted as ${accepted}.`, `${param}.format`, 'invalid_value');
  }
  const trimmed = data.trim();
  return { kind: 'audio', url: /^data:/i.test(trimmed) ? trimmed : `data:${mimeType};base64,${trimmed}`, mimeType };
}

/** A `file` part that names only a `file_id`: the file lives in the client's OpenAI account, out of reach. */
export function fileIdRefusal(fileId: string | undefined, param: string): GatewayError {
  const which = fileId !== undefined ? `'${fileId}'` : 'without file_data';
  return invalidRequest(
    `A file part with file_id ${which} is not supported: this gateway cannot fetch files uploaded to OpenAI's Files API. Send the file's content as file_data (base64 or a data: URL) with a filename.`,
    param,
    'unsupported_content',
  );
}

/** Asking for spoken answers (chat `modalities: ["audio"]`, `audio`): OnDemand answers in text only. */
export function audioOutputRefusal(param: string): GatewayError {
  return invalidRequest(`Audio output ('${param}') is not supported: OnDemand answers in text. Leave out 'audio' and ask for modalities ["text"].`, param, 'unsupported_value');
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
    const blocks = (m.media ?? [])
      .map((p) => uploaded.get(p))
      .filter((u): u is UploadedMedia => u !== undefined)
      .map(attachmentBlock);
    if (blocks.length === 0) return m;
    return { ...m, content: [m.content, ...blocks].filter((s) => s !== '').join('\n\n') };
  });
  return { ...req, messages };
}

/** One upload into a session with a key (the upstream's media API, src/upstream/media-upload.ts). */
export type MediaUploader = (key: string, sessionId: string, media: MediaUpload, signal: AbortSignal, trace?: TraceHeaders) => Promise<UploadedMedia>;

/**
 * The engine's `prepareSession` hook: validates the request's media up front (throws a 400) and returns the
 * per-attempt upload step, or undefined when the request carries no media.
 */
export function createMediaPreparer(upload: MediaUploader, limits: MediaLimits): (req: GatewayRequest) => SessionPrepare | undefined {
  return (req) => {
    const media = validateMedia(req, limits);
    if (media.length === 0) return undefined;
    return async (key, sessionId, request, signal, trace) => {
      const uploaded = new Map<MediaPart, UploadedMedia>();
      // one at a time: free plans allow 5 uploads a minute, and a failure stops the rest at once
      for (const m of media) uploaded.set(m.part, await upload(key, sessionId, m, signal, trace));
      return withAttachments(request, uploaded);
    };
  };
}
