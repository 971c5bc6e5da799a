/** Audio in the three front ends: chat `input_audio` read as media, and every refusal naming what it refuses. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import { renderAnthropicError } from './anthropic/render.js';
import { parseMessagesRequest } from './anthropic/request.js';
import { convertContentParts, parseChatRequest } from './openai-chat/request.js';
import { parseResponsesRequest } from './responses/request.js';

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a 400');
}

const audioPart = (input_audio: unknown) => ({ type: 'input_audio', input_audio });
const chat = (extra: Record<string, unknown>, content: unknown = 'hi') => ({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra });

describe('chat input_audio parts become audio media', () => {
  it.each([
    ['wav', { data: 'UklGRg==', format: 'wav' }, { kind: 'audio', url: 'data:audio/wav;base64,UklGRg==', mimeType: 'audio/wav' }],
    ['mp3', { data: '//uQxAAA', format: 'mp3' }, { kind: 'audio', url: 'data:audio/mpeg;base64,//uQxAAA', mimeType: 'audio/mpeg' }],
    ['an upper-case format', { data: 'AAAA', format: 'MP3' }, { kind: 'audio', url: 'data:audio/mpeg;base64,AAAA', mimeType: 'audio/mpeg' }],
    ['data already a data: URL', { data: 'data:audio/wav;base64,AAAA', format: 'wav' }, { kind: 'audio', url: 'data:audio/wav;base64,AAAA', mimeType: 'audio/wav' }],
  ])('%s', (_name, input, media) => {
    const parts = [{ type: 'text', text: 'what is said?' }, audioPart(input)];
    expect(convertContentParts(parts, 'messages[0].content', true)).toEqual({ text: 'what is said?', media: [media] });
  });

  it('passes through parseChatRequest on the user turn', () => {
    const body = chat({}, [audioPart({ data: 'AAAA', format: 'wav' })]);
    expect(parseChatRequest(body, { acceptMedia: true }).request.messages[0]?.media).toEqual([{ kind: 'audio', url: 'data:audio/wav;base64,AAAA', mimeType: 'audio/wav' }]);
  });
});

describe('refusals name what they refuse, in each API', () => {
  it.each<[string, () => unknown, { param: string; code: string; message: RegExp }]>([
    [
      'chat: an audio format other than wav and mp3',
      () => parseChatRequest(chat({}, [audioPart({ data: 'AAAA', format: 'flac' })]), { acceptMedia: true }),
      { param: 'messages[0].content[0].input_audio.format', code: 'invalid_value', message: /'flac'.*'wav', 'mp3'/ },
    ],
    [
      'chat: input_audio without data',
      () => parseChatRequest(chat({}, [audioPart({ format: 'wav' })]), { acceptMedia: true }),
      { param: 'messages[0].content[0].input_audio.data', code: 'missing_required_parameter', message: /input_audio\.data/ },
    ],
    [
      'chat: input_audio that is not an object',
      () => parseChatRequest(chat({}, [audioPart('AAAA')]), { acceptMedia: true }),
      { param: 'messages[0].content[0].input_audio', code: 'invalid_type', message: /input_audio/ },
    ],
    [
      'chat: a file known only by its file_id',
      () => parseChatRequest(chat({}, [{ type: 'file', file: { file_id: 'file-abc123' } }]), { acceptMedia: true }),
      { param: 'messages[0].content[0]', code: 'unsupported_content', message: /file_id 'file-abc123'.*cannot fetch.*file_data/ },
    ],
    [
      'chat: audio output through modalities',
      () => parseChatRequest(chat({ modalities: ['text', 'audio'] }), { acceptMedia: true }),
      { param: 'modalities', code: 'unsupported_value', message: /Audio output \('modalities'\).*text/ },
    ],
    [
      'chat: audio output settings',
      () => parseChatRequest(chat({ audio: { voice: 'alloy', format: 'mp3' } }), { acceptMedia: true }),
      { param: 'audio', code: 'unsupported_value', message: /Audio output \('audio'\)/ },
    ],
    [
      'chat: a media part where media is not taken',
      () => parseChatRequest(chat({}, [audioPart({ data: 'AAAA', format: 'wav' })])),
      { param: 'messages[0].content[0]', code: 'unsupported_content', message: /"input_audio"/ },
    ],
    [
      'Responses: an input_audio part',
      () => parseResponsesRequest({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }),
      { param: 'input[0].content[0]', code: 'unsupported_content', message: /Responses API.*no audio.*\/v1\/chat\/completions.*input_audio/ },
    ],
    [
      'Responses: an input_image part',
      () => parseResponsesRequest({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }),
      { param: 'input[0].content[0]', code: 'unsupported_content', message: /^input_image parts/ },
    ],
    [
      'Anthropic: an audio block',
      () =>
        parseMessagesRequest({ model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'audio', source: { type: 'base64', data: 'AAAA' } }] }] }),
      { param: 'messages.0.content.0', code: 'unsupported_content', message: /^messages\.0\.content\.0: Anthropic's Messages API has no audio.*input_audio/ },
    ],
    [
      'Anthropic: an image inside a tool_result',
      () =>
        parseMessagesRequest({
          model: 'claude-sonnet-4-6',
          max_tokens: 10,
          messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] }],
        }),
      {
        param: 'messages.0.content.0.content.0',
        code: 'unsupported_content',
        message: /^messages\.0\.content\.0\.content\.0: image blocks are accepted only directly in a user turn/,
      },
    ],
  ])('%s', (_name, parse, expected) => {
    const err = refusal(parse);
    expect(err.status).toBe(400);
    expect({ param: err.param, code: err.code }).toEqual({ param: expected.param, code: expected.code });
    expect(err.message).toMatch(expected.message);
  });

  it('modalities ["text"] and audio: null are fine', () => {
    expect(() => parseChatRequest(chat({ modalities: ['text'], audio: null }))).not.toThrow();
  });

  it('the Anthropic refusal renders in Anthropic’s shape', () => {
    const err = refusal(() => parseMessagesRequest({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }));
    expect(renderAnthropicError(err)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: err.message } });
  });
});
