/** POST /v1/completions (legacy) through the openai SDK: text, echo, stream with usage, and the refusals. */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simUsage } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const answer = (said: string) => `Hello from the OnDemand simulator (predefined-openai-gpt4o-mini). You said: ${said}`;
const lastQuery = () => (stack.sim.stats().lastQuery as { query: string }).query;

describe('POST /v1/completions', () => {
  it('a string prompt: text_completion with the answer and exact usage; the prompt goes upstream verbatim', async () => {
    const res = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Say hi', max_tokens: 50, temperature: 0.5 });
    expect(res.object).toBe('text_completion');
    expect(res.id).toMatch(/^cmpl-/);
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.choices).toEqual([{ text: answer('Say hi'), index: 0, logprobs: null, finish_reason: 'stop' }]);
    const u = simUsage('Say hi', answer('Say hi'));
    expect(res.usage).toEqual({ prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.totalTokens });
    expect(lastQuery()).toBe('Say hi');
    // max_tokens is enforced by the gateway, not sent (UPSTREAM_MAX_TOKENS sends it)
    expect((stack.sim.stats().lastQuery as { modelConfigs?: unknown }).modelConfigs).toEqual({ temperature: 0.5 });
  });

  it('an array with one prompt, and echo', async () => {
    const res = await client.completions.create({ model: 'gpt-4o-mini', prompt: ['Once upon'], echo: true });
    expect(res.choices[0]?.text).toBe(`Once upon${answer('Once upon')}`);
  });

  it('stream with include_usage: chunks, one finish, a usage chunk, [DONE]', async () => {
    const stream = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'streamed words here', stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: string[] = [];
    let usage: unknown = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('text_completion');
      for (const c of chunk.choices) {
        text += c.text;
        if (c.finish_reason) finishes.push(c.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(answer('streamed words here'));
    expect(finishes).toEqual(['stop']);
    expect(chunks).toBeGreaterThan(3);
    const u = simUsage('streamed words here', answer('streamed words here'));
    expect(usage).toEqual({ prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.totalTokens });
  });

  it.each([
    ['several prompts', { prompt: ['a', 'b'] }, 'prompt', 'unsupported_value'],
    ['token prompts', { prompt: [1, 2, 3] }, 'prompt', 'unsupported_value'],
    ['no prompt', {}, 'prompt', 'missing_required_parameter'],
    ['suffix', { prompt: 'a', suffix: 'z' }, 'suffix', 'unsupported_value'],
    ['n = 2', { prompt: 'a', n: 2 }, 'n', 'unsupported_value'],
    ['logprobs', { prompt: 'a', logprobs: 3 }, 'logprobs', 'unsupported_value'],
    ['temperature', { prompt: 'a', temperature: 3 }, 'temperature', 'invalid_value'],
  ])('400 for %s', async (_name, extra, param, code) => {
    const res = await fetch(`${stack.baseURL}/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', ...extra }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; param: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param, code });
    expect(stack.sim.stats().queries).toBe(0);
  });
});
