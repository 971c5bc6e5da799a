import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { MediaPart } from '../../core/types.js';
import { responsesAudioRefusal } from '../responses/request.js';
import { anthropicAudioRefusal, anthropicBlockToMediaPart } from './media.js';

function code(fn: () => unknown): string | null {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return `${err.status} ${err.code}`;
    throw err;
  }
  return null;
}

describe('audio where an API has none', () => {
  it.each<[string, GatewayError, { param: string; code: string; message: RegExp }]>([
    [
      'audio on Responses',
      responsesAudioRefusal('input[0].content[0]'),
      { param: 'input[0].content[0]', code: 'unsupported_content', message: /^The Responses API's input messages take no audio; send audio to \/v1\/chat\/completions/ },
    ],
    [
      'audio on Messages',
      anthropicAudioRefusal('messages.1.content.2'),
      { param: 'messages.1.content.2', code: 'unsupported_content', message: /^messages\.1\.content\.2: Anthropic's Messages API has no audio content block/ },
    ],
  ])('%s', (_n, err, expected) => {
    expect(err).toMatchObject({ status: 400, param: expected.param, code: expected.code });
    expect(err.message).toMatch(expected.message);
  });
});

describe('anthropicBlockToMediaPart', () => {
  it.each<[unknown, Partial<MediaPart>]>([
    [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA=' } },
      { kind: 'image', url: 'data:image/png;base64,AAA=', mimeType: 'image/png' },
    ],
    [
      { type: 'image', source: { type: 'url', url: 'https://e.x/a.png' } },
      { kind: 'image', url: 'https://e.x/a.png' },
    ],
    [
      { type: 'document', title: 'Report', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } },
      { kind: 'file', name: 'Report', mimeType: 'application/pdf' },
    ],
    [
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hi' } },
      { kind: 'file', url: 'data:text/plain;base64,aGk=', name: 'document.txt' },
    ],
  ])('%j', (block, expected) => {
    expect(anthropicBlockToMediaPart(block, 'messages[0].content[1]')).toMatchObject(expected);
  });

  it.each([
    [{ type: 'audio' }],
    [{ type: 'image', source: { type: 'file', file_id: 'x' } }],
    [{ type: 'image', source: { type: 'url', url: 'file:///x' } }],
    [{ type: 'image', source: { type: 'base64' } }],
    [{ type: 'image', source: { type: 'text', data: 'x' } }],
  ])('refuses %j with a 400', (block) => {
    expect(code(() => anthropicBlockToMediaPart(block, 'p'))).toBe('400 invalid_media');
  });
});
