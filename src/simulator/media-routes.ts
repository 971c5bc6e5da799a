/**
 * The media upload routes, from a URL (JSON) or as a multipart file; an upload can be bound to a session,
 * whose queries then see its name. Only the media plugins are accepted; the audio plugin answers a transcript,
 * the others an extract. The extract and the file itself are served by the control surface.
 */
import { header, sendJson, type ParsedJson } from './http.js';
import { guessMime, multipartBoundary, nameFromUrl, parseMultipart, simulatedContext, simulatedTranscript } from './media.js';
import { SIM_MEDIA_PLUGINS, unknownMediaPluginId } from './plugins.js';
import { newRecordId, type MediaRec, type SessionRec } from './state.js';
import { failCall, type UpstreamCall } from './upstream-call.js';
import { isObj, isStringArray } from './validate.js';

interface Upload {
  via: 'url' | 'file';
  name: string;
  sourceUrl: string | null;
  mimeType: string;
  sizeBytes: number | null;
  plugins: string[];
  /** what the audio plugin transcribes: the file's bytes, or the URL's for a URL upload (not fetched) */
  content: Buffer;
}

/** The audio plugin transcribes; any other (or none, on the multipart upload) extracts. */
function contextOf(upload: Upload): string {
  const audio = upload.plugins.some((id) => SIM_MEDIA_PLUGINS[id] === 'audio');
  return audio ? simulatedTranscript(upload.content) : simulatedContext(upload.name);
}

const isUploadResponseMode = (mode: unknown): boolean => mode === undefined || mode === 'sync' || mode === 'webhook';

function mediaView(m: MediaRec): Record<string, unknown> {
  return {
    id: m.id,
    url: m.url,
    sourceUrl: m.sourceUrl,
    extractedTextUrl: m.extractedTextUrl,
    context: m.context,
    mimeType: m.mimeType,
    actionStatus: 'completed',
    failedReason: null,
    name: m.name,
    sizeBytes: m.sizeBytes,
    sessionId: m.sessionId,
    createdAt: m.createdAt,
  };
}

/** Keep an accepted upload (in the session too, when bound to one) and answer with its record. */
function acceptUpload(call: UpstreamCall, upload: Upload, session: SessionRec | undefined): void {
  const { state } = call;
  const id = newRecordId();
  const rec: MediaRec = {
    id,
    name: upload.name,
    url: `${state.url}/__sim/media/${id}`,
    sourceUrl: upload.sourceUrl,
    extractedTextUrl: `${state.url}/__sim/media/${id}/text`,
    context: contextOf(upload),
    mimeType: upload.mimeType,
    sizeBytes: upload.sizeBytes,
    sessionId: session?.id ?? null,
    createdAt: new Date().toISOString(),
  };
  state.media.add(rec);
  session?.media.push(rec);
  const { via, name, mimeType, plugins, sizeBytes } = upload;
  state.recordUpload({ via, name, mimeType, plugins: [...plugins], sessionId: rec.sessionId, sizeBytes, context: rec.context });
  sendJson(call.res, 200, { message: 'File processed successfully', data: mediaView(rec) });
}

export function uploadMediaFromUrl(call: UpstreamCall, json: ParsedJson): void {
  if (!json.ok || !isObj(json.value)) return failCall(call, 400, 'invalid_request', 'Request body must be a JSON object');
  const b = json.value;
  const url = b['url'];
  if (typeof url !== 'string' || url.length === 0) return failCall(call, 400, 'invalid_request', 'url is required');
  const plugins = b['plugins'];
  if (!isStringArray(plugins)) return failCall(call, 400, 'invalid_request', 'plugins is required');
  if (plugins.length === 0) return failCall(call, 500, 'server_error', 'errors.no.executable.plugin.found');
  const unknown = unknownMediaPluginId(plugins);
  if (unknown !== undefined) return failCall(call, 400, 'invalid_request', `Invalid pluginId: ${unknown}`);
  if (!isUploadResponseMode(b['responseMode'])) return failCall(call, 400, 'invalid_request', 'responseMode must be one of sync, webhook');
  const sid = b['sessionId'];
  if (sid !== undefined && sid !== null && typeof sid !== 'string') return failCall(call, 400, 'invalid_request', 'sessionId must be a string');
  const session = typeof sid === 'string' && sid !== '' ? call.state.sessions.get(sid) : undefined;
  if (typeof sid === 'string' && sid !== '' && !session) return failCall(call, 404, 'not_found', 'Session not found');
  const name = typeof b['name'] === 'string' && b['name'] !== '' ? b['name'] : nameFromUrl(url);
  const sizeBytes = typeof b['sizeBytes'] === 'number' ? b['sizeBytes'] : null;
  const mimeType = guessMime(/^data:/i.test(url) ? url : name.includes('.') ? name : url);
  acceptUpload(call, { via: 'url', name, sourceUrl: url, mimeType, sizeBytes, plugins, content: Buffer.from(url, 'utf8') }, session);
}

export function uploadMediaFile(call: UpstreamCall, body: Buffer): void {
  const boundary = multipartBoundary(header(call.req, 'content-type'));
  if (!boundary) return failCall(call, 400, 'invalid_request', 'Expected multipart/form-data');
  const parts = parseMultipart(body, boundary);
  const file = parts.find((p) => p.name === 'file') ?? parts.find((p) => p.filename !== undefined);
  if (!file) return failCall(call, 400, 'invalid_request', 'file is required');
  const field = (n: string): string | undefined => {
    const p = parts.find((x) => x.name === n && x.filename === undefined);
    return p ? p.data.toString('utf8') : undefined;
  };
  if (!isUploadResponseMode(field('responseMode'))) return failCall(call, 400, 'invalid_request', 'responseMode must be one of sync, webhook');
  const plugins = parts.filter((x) => x.name === 'plugins' && x.filename === undefined).map((x) => x.data.toString('utf8'));
  const unknown = unknownMediaPluginId(plugins);
  if (unknown !== undefined) return failCall(call, 400, 'invalid_request', `Invalid pluginId: ${unknown}`);
  const sid = field('sessionId');
  const session = sid ? call.state.sessions.get(sid) : undefined;
  if (sid && !session) return failCall(call, 404, 'not_found', 'Session not found');
  const name = field('name') || file.filename || 'file';
  const mimeType = file.contentType && file.contentType !== 'application/octet-stream' ? file.contentType : guessMime(name);
  acceptUpload(call, { via: 'file', name, sourceUrl: null, mimeType, sizeBytes: file.data.length, plugins, content: file.data }, session);
}
