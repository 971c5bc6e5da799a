/**
 * The official openai SDK talks to the gateway in front of the simulator, unchanged: exact content, usage,
 * reasoning, the whole conversation upstream, the stricter `.stream()` helper, and errors.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upstreamQuery } from '../src/core/answer.js';
import { simUsage, THINKING_TEXT, UNICODE_ANSWER } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const expectedAnswer = (endpointId: string, said: string) => `Hello from the OnDemand simulator (${endpointId}). You said: ${said}`;

describe('chat.completions.create (non-stream)', () => {
  it('answers with exact content, real upstream usage and the echoed model', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }] });
    const text = expectedAnswer('predefined-openai-gpt4o', 'hi there');
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o');
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]?.message).toMatchObject({ role: 'assistant', content: text });
    expect(res.choices[0]?.finish_reason).toBe('stop');
    const u = simUsage('hi there', text);
    expect(res.usage).toEqual({ prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.totalTokens });
  });

  it('sends the whole conversation, in order, in a fresh session per request', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'My name is Ada.' },
      { role: 'assistant' as const, content: 'Hello Ada.' },
      { role: 'user' as const, content: 'What is my name? SIM_ECHO' },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
    const expected = upstreamQuery(
      {
        api: 'chat',
        requestedModel: 'gpt-4o',
        stream: false,
        params: {},
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
      },
      'predefined-openai-gpt4o',
    ).query;
    expect(res.choices[0]?.message.content).toBe(expected);
    expect(expected).toContain('<system>\nYou are terse.\n</system>');
    expect(expected.indexOf('My name is Ada.')).toBeLessThan(expected.indexOf('Hello Ada.'));
    await client.chat.completions.create({ model: 'gpt-4o', messages });
    const stats = stack.sim.stats();
    // the session pool (on by default) creates sessions ahead of time; none is ever queried twice
    expect(stats.sessionsCreated).toBeGreaterThanOrEqual(2);
    expect(stats.sessionsReused).toBe(0);
  });

  it('maps sampling parameters and reasoning_effort onto the upstream query; max_completion_tokens is enforced here, not sent', async () => {
    await client.chat.completions.create({
      model: 'o3-mini',
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 77,
      stop: ['END', 'STOP'],
      presence_penalty: 0.5,
      frequency_penalty: 1.5,
      reasoning_effort: 'high',
    });
    expect(stack.sim.stats().lastQuery).toMatchObject({
      endpointId: 'predefined-openai-gpto3-mini',
      responseMode: 'stream',
      reasoningEffort: 'max',
      modelConfigs: { temperature: 0.3, topP: 0.9, stopSequences: ['END', 'STOP'], presencePenalty: 0.5, frequencyPenalty: 1.5 },
    });
    expect((stack.sim.stats().lastQuery as { modelConfigs: object }).modelConfigs).not.toHaveProperty('maxTokens');
  });

  it.each([
    ['xhigh', 'max'],
    ['none', undefined],
  ] as const)('reasoning_effort %s (sent by newer clients) reaches OnDemand as %s', async (effort, expected) => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: effort as 'high' });
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect((stack.sim.stats().lastQuery as { reasoningEffort?: string }).reasoningEffort).toBe(expected);
  });

  it('carries reasoning as reasoning_content', async () => {
    const res = await client.chat.completions.create({ model: 'deepseek-r1', messages: [{ role: 'user', content: 'why?' }] });
    const message = res.choices[0]?.message as unknown as { reasoning_content?: string; content: string };
    expect(message.reasoning_content).toBe(THINKING_TEXT);
    expect(message.content).toBe(expectedAnswer('predefined-deepseek-r1', 'why?'));
  });

  it('retries a non-stream answer that the upstream cuts midway on another key: nothing had reached the client', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'cut', afterDeltas: 2, times: 1 });
    const raw = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three four' }] }).withResponse();
    expect(raw.data.choices[0]?.message.content).toBe(expectedAnswer('predefined-openai-gpt4o', 'one two three four'));
    expect(raw.response.headers.get('x-gateway-attempts')).toBe('2');
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 3, errorCode: 'server_error', message: 'flaky', times: 1 });
    const again = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'five six seven' }] });
    expect(again.choices[0]?.message.content).toBe(expectedAnswer('predefined-openai-gpt4o', 'five six seven'));
  });

  it('counts usage with a tokenizer only when the upstream sends no metricsLog', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SIM_NO_METRICS hello' }] });
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    expect(res.usage?.total_tokens).toBe((res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0));
  });
});

describe('chat.completions streaming', () => {
  it('streams deltas with one id, role first, one finish_reason, usage chunk when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'deepseek-r1',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const ids = new Set<string>();
    let content = '';
    let reasoning = '';
    const finishes: string[] = [];
    let usageChunks = 0;
    let first = true;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (first) expect(chunk.choices[0]?.delta.role).toBe('assistant');
      first = false;
      if (chunk.choices.length === 0) {
        usageChunks++;
        const text = expectedAnswer('predefined-deepseek-r1', 'stream please');
        expect(chunk.usage?.completion_tokens).toBe(simUsage('stream please', text).outputTokens);
        continue;
      }
      expect(chunk.usage).toBeNull();
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string };
      content += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(ids.size).toBe(1);
    expect(content).toBe(expectedAnswer('predefined-deepseek-r1', 'stream please'));
    expect(reasoning).toBe(THINKING_TEXT);
    expect(finishes).toEqual(['stop']);
    expect(usageChunks).toBe(1);
  });

  it('passes the stricter chat.completions.stream() helper', async () => {
    const runner = client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'helper' }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe(expectedAnswer('predefined-openai-gpt4o', 'helper'));
    expect(final.choices[0]?.finish_reason).toBe('stop');
  });

  it('keeps multi-byte characters intact when the upstream splits them across writes', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SIM_UNICODE' }], stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe(UNICODE_ANSWER);
  });

  it('turns an upstream [ERROR] after the first delta into an error the SDK raises', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 2, errorCode: 'model_error', message: 'the model broke' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x y z w' }], stream: true });
    let content = '';
    await expect(
      (async () => {
        for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/the model broke/);
    expect(content.length).toBeGreaterThan(0);
  });

  it('turns an upstream cut after the first delta into an error, never a clean end', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'cut', afterDeltas: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a b c d e f' }], stream: true });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow(/upstream/i);
  });
});

describe('errors through the SDK', () => {
  it('401 for a wrong key, echoing nothing the client sent', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong-key-do-not-echo', baseURL: stack.baseURL, maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(e.status).toBe(401);
    expect(JSON.stringify(e.error)).not.toContain('sk-wrong-key-do-not-echo');
  });

  it('400 with param for an out-of-range parameter', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], temperature: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
  });

  it('an upstream 400 is the client 400, and the key keeps its health', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 400, body: { errorCode: 'context_length_exceeded', message: 'too long' }, on: 'query', times: 1 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
    expect(stack.gateway.pool.list().every((k) => k.state === 'active')).toBe(true);
  });

  it('lists the routed models', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('gpt-4o');
    expect(ids).toContain('claude-sonnet-4-6');
    const one = await client.models.retrieve('gpt-4o');
    expect(one.id).toBe('gpt-4o');
  });
});
