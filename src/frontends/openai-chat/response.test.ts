import { describe, expect, it } from 'vitest';
import type { GatewayEvent, Usage } from '../../core/types.js';
import { collectEvents, newCompletionId, renderChatCompletion, type ChatCompletionInput } from './response.js';

const usage: Usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15, estimated: false };
const input: ChatCompletionInput = {
  id: 'chatcmpl-abc',
  created: 1_700_000_000,
  model: 'gpt-4o',
  text: 'Hello!',
  reasoning: '',
  toolCalls: [],
  finishReason: 'stop',
  usage,
};

const completion = (message: Record<string, unknown>, finish_reason = 'stop', usageOut = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }) => ({
  id: 'chatcmpl-abc',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o',
  choices: [{ index: 0, message, logprobs: null, finish_reason }],
  usage: usageOut,
  system_fingerprint: null,
});

describe('renderChatCompletion', () => {
  it.each([
    ['plain text', {}, completion({ role: 'assistant', content: 'Hello!', refusal: null })],
    ['empty text stays a string', { text: '' }, completion({ role: 'assistant', content: '', refusal: null })],
    ['finish length', { finishReason: 'length' as const }, completion({ role: 'assistant', content: 'Hello!', refusal: null }, 'length')],
    [
      'reasoning_content when there is reasoning',
      { reasoning: 'thinking...' },
      completion({ role: 'assistant', content: 'Hello!', refusal: null, reasoning_content: 'thinking...' }),
    ],
    [
      'tool calls, no text → content null',
      { text: '', toolCalls: [{ id: 'call_1', name: 'get', arguments: '{"a":1}' }], finishReason: 'tool_calls' as const },
      completion(
        {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }],
        },
        'tool_calls',
      ),
    ],
    [
      'tool calls with text keep the text',
      { toolCalls: [{ id: 'c', name: 'f', arguments: '' }], finishReason: 'tool_calls' as const },
      completion(
        {
          role: 'assistant',
          content: 'Hello!',
          refusal: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '' } }],
        },
        'tool_calls',
      ),
    ],
    [
      'unknown usage renders as zeros',
      { usage: null },
      completion({ role: 'assistant', content: 'Hello!', refusal: null }, 'stop', { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }),
    ],
  ])('%s', (_name, overrides, expected) => {
    const rendered = renderChatCompletion({ ...input, ...overrides });
    // through JSON, as the client sees it: no undefined keys hiding in the object
    expect(JSON.parse(JSON.stringify(rendered))).toStrictEqual(expected);
  });

  it('omits reasoning_content and tool_calls keys when absent', () => {
    const message = renderChatCompletion(input).choices[0].message;
    expect(Object.keys(message)).toEqual(['role', 'content', 'refusal']);
  });
});

describe('newCompletionId', () => {
  it('is chatcmpl- and 24+ url-safe characters, fresh each time', () => {
    const ids = Array.from({ length: 200 }, newCompletionId);
    for (const id of ids) expect(id).toMatch(/^chatcmpl-[A-Za-z0-9_-]{24,}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('collectEvents', () => {
  it.each<[string, GatewayEvent[], ReturnType<typeof collectEvents>]>([
    ['nothing', [], { text: '', reasoning: '', toolCalls: [], usage: null, finishReason: null }],
    [
      'text, reasoning, usage, end',
      [
        { type: 'reasoning', text: 'hm' },
        { type: 'reasoning', text: 'm' },
        { type: 'text', text: 'Hel' },
        { type: 'text', text: 'lo' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      { text: 'Hello', reasoning: 'hmm', toolCalls: [], usage, finishReason: 'stop' },
    ],
    [
      'tool calls across events',
      [
        { type: 'tool_calls', calls: [{ id: 'a', name: 'f', arguments: '{}' }] },
        { type: 'tool_calls', calls: [{ id: 'b', name: 'g', arguments: '[]' }] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      {
        text: '',
        reasoning: '',
        toolCalls: [
          { id: 'a', name: 'f', arguments: '{}' },
          { id: 'b', name: 'g', arguments: '[]' },
        ],
        usage: null,
        finishReason: 'tool_calls',
      },
    ],
    [
      'nothing after end counts but a late usage',
      [
        { type: 'text', text: 'a' },
        { type: 'end', finishReason: 'length' },
        { type: 'text', text: 'b' },
        { type: 'end', finishReason: 'stop' },
        { type: 'usage', usage },
      ],
      { text: 'a', reasoning: '', toolCalls: [], usage, finishReason: 'length' },
    ],
  ])('%s', (_name, events, expected) => {
    expect(collectEvents(events)).toEqual(expected);
  });

  it('feeds renderChatCompletion', () => {
    const collected = collectEvents([
      { type: 'text', text: 'Hello!' },
      { type: 'usage', usage },
      { type: 'end', finishReason: 'stop' },
    ]);
    if (collected.finishReason === null) throw new Error('no end');
    const rendered = renderChatCompletion({ id: 'chatcmpl-abc', created: 1_700_000_000, model: 'gpt-4o', ...collected, finishReason: collected.finishReason });
    expect(rendered).toStrictEqual(completion({ role: 'assistant', content: 'Hello!', refusal: null }));
  });
});
