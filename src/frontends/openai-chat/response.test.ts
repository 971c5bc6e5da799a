import { describe, expect, it } from 'vitest';
import type { Usage } from '../../core/types.js';
import { wholeAnswerOf } from '../answer-lifecycle.js';
import { newCompletionId, renderChatCompletion, type ChatCompletionInput } from './response.js';

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

describe('wholeAnswerOf', () => {
  it('feeds renderChatCompletion', () => {
    const collected = wholeAnswerOf([
      { type: 'text', text: 'Hello!' },
      { type: 'usage', usage },
      { type: 'end', finishReason: 'stop' },
    ]);
    const rendered = renderChatCompletion({ id: 'chatcmpl-abc', created: 1_700_000_000, model: 'gpt-4o', ...collected });
    expect(rendered).toStrictEqual(completion({ role: 'assistant', content: 'Hello!', refusal: null }));
  });
});
