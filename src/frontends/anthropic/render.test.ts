import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { GatewayEvent, Usage } from '../../core/types.js';
import { parseMessagesRequest } from './request.js';
import { anthropicErrorType, createMessagesEncoder, renderMessage } from './render.js';
import { wholeAnswer } from '../test-helpers.js';

const usage: Usage = { inputTokens: 5, outputTokens: 7, totalTokens: 12, estimated: false };

function run(events: GatewayEvent[], failure?: GatewayError): Array<[string, Record<string, unknown>]> {
  const enc = createMessagesEncoder({ id: 'msg_1', model: 'claude', inputTokens: 3 });
  let wire = enc.start?.() ?? '';
  for (const e of events) wire += enc.encode(e);
  wire += failure ? enc.error(failure) : enc.done();
  return wire
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      const [ev, data] = f.split('\n');
      return [(ev as string).slice(7), JSON.parse((data as string).slice(6)) as Record<string, unknown>];
    });
}

describe('messages stream encoder', () => {
  it('thinking, text, tool_use, message_delta with usage, message_stop', () => {
    const out = run([
      { type: 'reasoning', text: 'hm' },
      { type: 'text', text: 'Hi' },
      { type: 'tool_calls', calls: [{ id: 'toolu_1', name: 'f', arguments: '{"a":1}' }] },
      { type: 'usage', usage },
      { type: 'end', finishReason: 'tool_calls' },
    ]);
    expect(out).toEqual([
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'claude',
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 3, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
          },
        },
      ],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 2 }],
      [
        'message_delta',
        {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { input_tokens: 5, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      ],
      ['message_stop', { type: 'message_stop' }],
    ]);
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['content_filter', 'refusal'],
  ] as const)('finish %s → stop_reason %s', (finish, stop) => {
    const out = run([{ type: 'end', finishReason: finish }]);
    expect(out.map(([e]) => e)).toEqual(['message_start', 'message_delta', 'message_stop']);
    expect(out[1]?.[1].delta).toEqual({ stop_reason: stop, stop_sequence: null });
  });

  it('an error mid-stream is an Anthropic error event, and nothing after it', () => {
    const out = run([{ type: 'text', text: 'a' }], new GatewayError('gone', { status: 502, type: 'api_error' }));
    expect(out.at(-1)).toEqual(['error', { type: 'error', error: { type: 'api_error', message: 'gone' } }]);
    expect(out.map(([e]) => e)).not.toContain('message_stop');
  });
});

describe('Anthropic error types', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'timeout_error'],
  ])('%i → %s', (status, type) => {
    expect(anthropicErrorType(new GatewayError('x', { status, type: 'api_error' }))).toBe(type);
  });
});

describe('renderMessage', () => {
  it('empty text is left out beside tool calls; bad argument JSON renders as {}', () => {
    const msg = renderMessage(
      { id: 'msg_1', model: 'm' },
      wholeAnswer({ text: '', reasoning: '', toolCalls: [{ id: 't', name: 'f', arguments: '{oops' }], usage, finishReason: 'tool_calls' }),
    );
    expect(msg.content).toEqual([{ type: 'tool_use', id: 't', name: 'f', input: {} }]);
    expect(msg.stop_reason).toBe('tool_use');
  });
});

describe('parseMessagesRequest', () => {
  it('tool_result blocks become tool messages before the rest of the user turn', () => {
    const req = parseMessagesRequest({
      model: 'm',
      max_tokens: 10,
      system: 'sys',
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 't', signature: 's' },
            { type: 'text', text: 'calling' },
            { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'r' },
            { type: 'text', text: 'and?' },
          ],
        },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
    });
    expect(req.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'calling', toolCalls: [{ id: 'toolu_1', name: 'f', arguments: '{"a":1}' }] },
      { role: 'tool', toolCallId: 'toolu_1', content: 'r' },
      { role: 'user', content: 'and?' },
    ]);
    expect(req.toolChoice).toBe('required');
    expect(req.tools).toEqual([{ name: 'f', parameters: { type: 'object' } }]);
  });

  it.each<[string, unknown[], Array<Record<string, unknown>>]>([
    [
      'a system entry among the turns (Claude Code) stays in its place',
      [
        { role: 'user', content: [{ type: 'text', text: 'q' }] },
        { role: 'system', content: [{ type: 'text', text: '# Environment' }] },
        { role: 'assistant', content: 'a' },
      ],
      [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'q' },
        { role: 'system', content: '# Environment' },
        { role: 'assistant', content: 'a' },
      ],
    ],
    [
      'a system entry as a string; an empty one is left out',
      [
        { role: 'system', content: 'be brief' },
        { role: 'system', content: [] },
        { role: 'user', content: 'q' },
      ],
      [
        { role: 'system', content: 'sys' },
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'q' },
      ],
    ],
  ])('%s', (_name, messages, expected) => {
    expect(parseMessagesRequest({ model: 'm', max_tokens: 10, system: 'sys', messages }).messages).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['max_tokens missing', { model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
    ['tool without input_schema', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f' }] }, 'tools.0.input_schema'],
    [
      'tool_choice tool naming an absent tool',
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'tool', name: 'f' } },
      'tool_choice.name',
    ],
    ['unknown block', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'video' }] }] }, 'messages.0.content.0.type'],
    ['a role of its own', { model: 'm', max_tokens: 1, messages: [{ role: 'developer', content: 'x' }] }, 'messages.0.role'],
    ['an image in a system entry', { model: 'm', max_tokens: 1, messages: [{ role: 'system', content: [{ type: 'image' }] }] }, 'messages.0.content.0'],
    ['thinking of an unknown type', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], thinking: { type: 'deep' } }, 'thinking.type'],
  ])('400 for %s', (_name, body, param) => {
    expect(() => parseMessagesRequest(body)).toThrow(expect.objectContaining({ status: 400, param }));
  });
});
