/**
 * max_tokens is enforced by the gateway, through the real SDKs and the simulator (which never cuts an answer):
 * each API's own end marker, usage for what was delivered, nothing sent upstream unless UPSTREAM_MAX_TOKENS.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/core/error';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../src/core/tokens.js';
import { THINKING_TEXT } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  stack = await startStack();
  openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.url, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const SAID = 'Say hi';
const full = (endpoint: string) => `Hello from the OnDemand simulator (${endpoint}). You said: ${SAID}`;
const modelConfigs = () => (stack.sim.stats().lastQuery as { modelConfigs?: Record<string, unknown> }).modelConfigs ?? {};

/** a non-empty start of the answer with exactly `limit` tokens */
function expectCut(text: string | null | undefined, endpoint: string, limit = 5): void {
  expect(text).toBeTruthy();
  expect(full(endpoint).startsWith(text as string)).toBe(true);
  expect(countTokens(text as string)).toBe(limit);
}

describe('max_tokens: 5 in each API', () => {
  const GPT = 'predefined-openai-gpt4o';
  // the answer is cut before OnDemand's metrics come, so the input tokens are counted locally
  const input = countTokens(SAID);

  it('chat.completions.create: finish_reason length, completion_tokens 5, nothing upstream', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: SAID }] });
    expectCut(res.choices[0]?.message.content, GPT);
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage).toEqual({ prompt_tokens: input, completion_tokens: 5, total_tokens: input + 5 });
    expect(modelConfigs()).not.toHaveProperty('maxTokens');
  });

  it('chat.completions.create, streamed (max_completion_tokens): one finish_reason length, the usage chunk', async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      max_completion_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: SAID }],
    });
    let text = '';
    const finishes: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      const finish = chunk.choices[0]?.finish_reason;
      if (finish) finishes.push(finish);
      if (chunk.usage) usage = chunk.usage;
    }
    expectCut(text, GPT);
    expect(finishes).toEqual(['length']);
    expect(usage).toEqual({ prompt_tokens: input, completion_tokens: 5, total_tokens: input + 5 });
    expect(modelConfigs()).not.toHaveProperty('maxTokens');
  });

  it('legacy completions, and streamed: finish_reason length, completion_tokens 5', async () => {
    const res = await openai.completions.create({ model: 'gpt-4o', prompt: SAID, max_tokens: 5 });
    expectCut(res.choices[0]?.text, GPT);
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage).toEqual({ prompt_tokens: input, completion_tokens: 5, total_tokens: input + 5 });
    expect(modelConfigs()).not.toHaveProperty('maxTokens');

    const stream = await openai.completions.create({ model: 'gpt-4o', prompt: SAID, max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      const finish = chunk.choices[0]?.finish_reason;
      if (finish) finishes.push(finish);
      if (chunk.usage) usage = chunk.usage;
    }
    expectCut(text, GPT);
    expect(finishes).toEqual(['length']);
    expect(usage).toEqual({ prompt_tokens: input, completion_tokens: 5, total_tokens: input + 5 });
  });

  it('responses.create: status incomplete, incomplete_details max_output_tokens, output_tokens 5', async () => {
    const res = await openai.responses.create({ model: 'gpt-4o', input: SAID, max_output_tokens: 5 });
    expectCut(res.output_text, GPT);
    expect(res.status).toBe('incomplete');
    expect(res.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(res.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
    expect(res.usage).toMatchObject({ input_tokens: input, output_tokens: 5, total_tokens: input + 5 });
    expect(modelConfigs()).not.toHaveProperty('maxTokens');
  });

  it('responses.stream: the last event is response.incomplete, and finalResponse says why', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: SAID, max_output_tokens: 5 });
    const types: string[] = [];
    let deltas = '';
    stream.on('event', (e) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expectCut(deltas, GPT);
    expect(final.output_text).toBe(deltas);
    expect(types.at(-1)).toBe('response.incomplete');
    expect(types).not.toContain('response.completed');
    expect(final.status).toBe('incomplete');
    expect(final.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(final.usage).toMatchObject({ input_tokens: input, output_tokens: 5 });
  });

  const CLAUDE = 'predefined-claude-sonnet-4-6';

  it('messages.create: stop_reason max_tokens, output_tokens 5', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 5, messages: [{ role: 'user', content: SAID }] });
    expect(msg.content).toHaveLength(1);
    expectCut((msg.content[0] as Anthropic.TextBlock).text, CLAUDE);
    expect(msg.stop_reason).toBe('max_tokens');
    expect(msg.usage).toMatchObject({ input_tokens: input, output_tokens: 5 });
    expect(modelConfigs()).not.toHaveProperty('maxTokens');
  });

  it('messages.stream: stop_reason max_tokens in message_delta, output_tokens 5', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 5, messages: [{ role: 'user', content: SAID }] });
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const final = await stream.finalMessage();
    expectCut(text, CLAUDE);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage.output_tokens).toBe(5);
  });
});

describe('max_tokens that the answer stays within', () => {
  it('changes nothing: the same text, finish reason and usage as without, streamed or not', async () => {
    const messages = [{ role: 'user' as const, content: SAID }];
    const without = await openai.chat.completions.create({ model: 'gpt-4o', messages });
    const within = await openai.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 4096 });
    expect(within.choices).toEqual(without.choices);
    expect(within.usage).toEqual(without.usage);
    expect(within.choices[0]?.finish_reason).toBe('stop');

    const collect = async (max?: number) => {
      const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true, ...(max === undefined ? {} : { max_tokens: max }) });
      let text = '';
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish ??= chunk.choices[0]?.finish_reason;
      }
      return { text, finish };
    };
    expect(await collect(4096)).toEqual(await collect());
  });

  it('an Anthropic answer within max_tokens ends with end_turn and the upstream usage', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 4096, messages: [{ role: 'user', content: SAID }] });
    expect(msg.content).toEqual([{ type: 'text', text: full('predefined-claude-sonnet-4-6') }]);
    expect(msg.stop_reason).toBe('end_turn');
  });
});

describe('max_tokens with reasoning, tools and structured output', () => {
  it('reasoning counts toward the limit, before the text', async () => {
    const thinking = countTokens(THINKING_TEXT);
    const res = await openai.chat.completions.create({ model: 'deepseek-r1', max_tokens: thinking + 3, messages: [{ role: 'user', content: SAID }] });
    const message = res.choices[0]?.message as unknown as { reasoning_content?: string; content: string };
    expect(message.reasoning_content).toBe(THINKING_TEXT);
    expectCut(message.content, 'predefined-deepseek-r1', 3);
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(thinking + 3);
  });

  const tools: OpenAI.Chat.ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  ];

  it('a tool call that does not fit is dropped, not cut: finish_reason length, no tool_calls', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 5, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(res.choices[0]?.finish_reason).toBe('length');
    expect(res.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(res.usage?.completion_tokens).toBe(0);
  });

  it('a tool call that fits is delivered whole, as without a limit', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', max_tokens: 200, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(res.choices[0]?.finish_reason).toBe('tool_calls');
    expect(res.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"city-value"}' } });
  });

  it('a JSON answer cut by the limit: the parse helper raises its LengthFinishReasonError', async () => {
    const messages = [{ role: 'user' as const, content: 'List three colours' }];
    const whole = await openai.chat.completions.create({ model: 'gpt-4o', messages, response_format: { type: 'json_object' } });
    const cut = await openai.chat.completions.create({ model: 'gpt-4o', messages, response_format: { type: 'json_object' }, max_tokens: 3 });
    const content = cut.choices[0]?.message.content ?? '';
    expect(content).not.toBe('');
    expect(whole.choices[0]?.message.content?.startsWith(content)).toBe(true);
    expect(countTokens(content)).toBe(3);
    const err = await openai.chat.completions.parse({ model: 'gpt-4o', messages, response_format: { type: 'json_object' }, max_tokens: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LengthFinishReasonError);
  });
});

describe('UPSTREAM_MAX_TOKENS=true', () => {
  let sending: Stack;
  beforeAll(async () => {
    sending = await startStack({ env: { UPSTREAM_MAX_TOKENS: 'true' } });
  });
  afterAll(async () => sending.close());

  it('sends max_tokens upstream as modelConfigs.maxTokens, and still enforces it', async () => {
    const client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: sending.baseURL, maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 5, temperature: 0.5, messages: [{ role: 'user', content: SAID }] });
    expect((sending.sim.stats().lastQuery as { modelConfigs?: unknown }).modelConfigs).toEqual({ maxTokens: 5, temperature: 0.5 });
    expectCut(res.choices[0]?.message.content, 'predefined-openai-gpt4o');
    expect(res.choices[0]?.finish_reason).toBe('length');
    // the upstream call was stopped by the gateway, not failed: the key's one call counts as ok
    const metrics = await (await fetch(`${sending.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).text();
    const calls = metrics.split('\n').filter((line) => line.startsWith('gateway_upstream_calls_total{'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/outcome="ok"\} 1$/);
  });
});
