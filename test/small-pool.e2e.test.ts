/**
 * The original project's users have one to three keys. With one key whose calls fail now and then, the gateway
 * retries that key after a short backoff instead of failing the request, before anything reached the client. The
 * openai SDK's own retries are off here, so every retry seen is the gateway's.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const KEY = 'od-key-only-one-000001';
const queries = (stack: Stack) => stack.sim.stats().byKey[KEY]?.queries ?? 0;

describe('a one-key pool', () => {
  let stack: Stack;
  let openai: OpenAI;
  beforeAll(async () => {
    stack = await startStack({ keys: [KEY], env: { RETRY_BACKOFF_MS: '20', RETRY_BACKOFF_MAX_MS: '100' } });
    openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(() => {
    stack.sim.setKeyBehavior(KEY, { kind: 'ok' });
  });

  it('whose key fails twice with a 500 serves 4 of 4 requests, streamed and not', async () => {
    const served: string[] = [];
    for (const stream of [false, true, false, true]) {
      stack.sim.setKeyBehavior(KEY, { kind: 'http', status: 500, on: 'query', times: 2 });
      const before = queries(stack);
      if (stream) {
        const chunks = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
        let text = '';
        for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
        served.push(text);
      } else {
        const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
        served.push(res.choices[0]?.message.content ?? '');
      }
      // two failed queries and the one that answered, all on the only key
      expect(queries(stack) - before).toBe(3);
    }
    expect(served.filter((t) => t.length > 0)).toHaveLength(4);
  });

  it('a stream cut before its first answer event is retried on the same key', async () => {
    stack.sim.setKeyBehavior(KEY, { kind: 'cut', afterDeltas: 0, times: 1 });
    const chunks = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  it('the Anthropic SDK gets its answer too', async () => {
    stack.sim.setKeyBehavior(KEY, { kind: 'http', status: 502, on: 'query', times: 2 });
    const anthropic = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.url, maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text' });
  });

  it('a 429 whose Retry-After fits ALL_KEYS_OUT_WAIT_MS is waited out', async () => {
    stack.sim.setKeyBehavior(KEY, { kind: 'http', status: 429, retryAfterSec: 1, on: 'query', times: 1 });
    const started = Date.now();
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('a failure that keeps coming fails after MAX_ATTEMPTS, with the upstream error', async () => {
    stack.sim.setKeyBehavior(KEY, { kind: 'http', status: 500, on: 'query' });
    const before = queries(stack);
    const err = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(queries(stack) - before).toBe(stack.config.MAX_ATTEMPTS);
  });
});
