/**
 * The two media uploads (a URL OnDemand fetches itself, or the bytes as multipart) bound to a session, and the
 * answer's extracted text. docs/ondemand-protocol.md §5.
 */
import type { ErrorCode } from '../core/errors.js';
import type { MediaUploader } from '../core/media.js';
import type { TraceHeaders } from '../core/ports.js';
import { UpstreamFailure } from '../ondemand/failure.js';
import { buildMultipart, type MediaUpload, type UploadedMedia } from '../ondemand/media.js';
import type { OnDemandClient } from './client.js';

const MEDIA_PROCESSING_FAILED: ErrorCode = 'media_processing_failed';

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

export async function uploadOne(client: MediaClient, key: string, sessionId: string, m: MediaUpload, signal: AbortSignal, trace?: TraceHeaders): Promise<UploadedMedia> {
  let answer: unknown;
  try {
    if (m.source.kind === 'url') {
      answer = await client.uploadMediaUrl(key, { url: m.source.url, name: m.name, plugins: [m.plugin], responseMode: 'sync', sessionId }, signal, trace);
    } else {
      const form = buildMultipart({ name: m.name, mimeType: m.mimeType, data: m.source.data }, [
        ['name', m.name],
        ['responseMode', 'sync'],
        ['sessionId', sessionId],
        ['plugins', m.plugin],
      ]);
      answer = await client.uploadMediaRaw(key, form, signal, trace);
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
      errorCode: MEDIA_PROCESSING_FAILED,
      upstreamMessage: `OnDemand could not process "${m.name}": ${reason.slice(0, 300)}`,
    });
  }
  const mime = typeof data['mimeType'] === 'string' && data['mimeType'] !== '' && m.mimeType.endsWith('/*') ? data['mimeType'] : m.mimeType;
  return { name: m.name, mimeType: mime, context: typeof data['context'] === 'string' ? data['context'] : '' };
}

/** The engine's media port on this client. */
export function mediaUploader(client: MediaClient): MediaUploader {
  return (key, sessionId, media, signal, trace) => uploadOne(client, key, sessionId, media, signal, trace);
}
