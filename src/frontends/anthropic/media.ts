/**
 * Anthropic's `image` and `document` content blocks as the gateway's media parts (which then go through the same
 * validation and upload as every API's: src/core/media.ts), and its refusal of audio.
 */
import { type GatewayError, invalidRequest } from '../../core/errors.js';
import type { MediaPart } from '../../core/types.js';

/**
 * An Anthropic `image` or `document` content block → a MediaPart (which then goes through the same validation
 * and upload). Sources: `base64` (media_type + data), `url`, and for documents `text` (plain text). Throws a 400
 * GatewayError naming `param` for anything else; callers render it in the Anthropic error shape.
 */
export function anthropicBlockToMediaPart(block: unknown, param: string): MediaPart {
  const b = (typeof block === 'object' && block !== null ? block : {}) as Record<string, unknown>;
  const kind = b['type'] === 'image' ? 'image' : b['type'] === 'document' ? 'file' : undefined;
  if (kind === undefined) throw invalidRequest(`${param}.type: expected "image" or "document".`, `${param}.type`, 'invalid_media');
  const source = (typeof b['source'] === 'object' && b['source'] !== null ? b['source'] : {}) as Record<string, unknown>;
  const title = typeof b['title'] === 'string' && b['title'].trim() !== '' ? b['title'].trim() : undefined;
  const named = (p: MediaPart): MediaPart => (title !== undefined ? { ...p, name: title } : p);
  const mediaType = typeof source['media_type'] === 'string' ? source['media_type'].toLowerCase() : undefined;
  switch (source['type']) {
    case 'base64': {
      if (typeof source['data'] !== 'string' || source['data'] === '') throw invalidRequest(`${param}.source.data must be base64 data.`, `${param}.source.data`, 'invalid_media');
      const mime = mediaType ?? (kind === 'image' ? 'image/png' : 'application/pdf');
      return named({ kind, url: `data:${mime};base64,${source['data']}`, mimeType: mime });
    }
    case 'url': {
      if (typeof source['url'] !== 'string' || !/^https?:\/\//i.test(source['url'])) {
        throw invalidRequest(`${param}.source.url must be an http(s) URL.`, `${param}.source.url`, 'invalid_media');
      }
      return named({ kind, url: source['url'] });
    }
    case 'text': {
      if (kind !== 'file' || typeof source['data'] !== 'string')
        throw invalidRequest(`${param}.source: a text source needs a document and string data.`, `${param}.source`, 'invalid_media');
      const mime = mediaType ?? 'text/plain';
      return named({ kind, url: `data:${mime};base64,${Buffer.from(source['data'], 'utf8').toString('base64')}`, mimeType: mime, name: title ?? 'document.txt' });
    }
    default:
      throw invalidRequest(`${param}.source.type: expected "base64", "url" or "text".`, `${param}.source.type`, 'invalid_media');
  }
}

/** Audio in a user turn: Anthropic's Messages API has no audio block. Its error shape has no param field, so the message starts with the block's path, as Anthropic's do. */
export function anthropicAudioRefusal(param: string): GatewayError {
  return invalidRequest(
    `${param}: Anthropic's Messages API has no audio content block; send audio to /v1/chat/completions as an input_audio part (wav or mp3).`,
    param,
    'unsupported_content',
  );
}
