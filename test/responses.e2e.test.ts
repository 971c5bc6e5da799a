/** POST /v1/responses through the openai SDK: responses.create and responses.stream, reasoning, errors. */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simUsage, THINKING_TEXT } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const answer = (endpoint: string, said: string) => `Hello from the OnDemand simulator (${endpoint}). You said: ${said}`;
const lastBody = () => stack.sim.stats().lastQuery as { query: string; modelConfigs?: Record<string, unknown>; reasoningEffort?: string };
const usageOf = (query: string, text: string) => {
  const u = simUsage(query, text);
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.totalTokens,
  };
};

describe('responses.create', () => {
  it('a string input: one message item, output_text, usage, echoed parameters', async () => {
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hi', max_output_tokens: 40, temperature: 0.2 });
    const text = answer('predefined-openai-gpt4o-mini', 'Say hi');
    expect(res.id).toMatch(/^resp_/);
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.model).toBe('gpt-4o-mini');
    expect(res.output_text).toBe(text);
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] });
    expect(res.usage).toEqual(usageOf('Say hi', text));
    expect([res.max_output_tokens, res.temperature, res.error, res.incomplete_details]).toEqual([40, 0.2, null, null]);
    // max_output_tokens is enforced by the gateway, not sent (UPSTREAM_MAX_TOKENS sends it)
    expect(lastBody().modelConfigs).toEqual({ temperature: 0.2 });
  });

  it('instructions and input items become the transcript', async () => {
    const res = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be terse.',
      input: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }], id: 'msg_1', status: 'completed', type: 'message' },
        { role: 'developer', content: 'dev note' },
        { role: 'user', content: [{ type: 'input_text', text: 'second' }] },
      ],
    });
    expect(res.output_text).toBe(answer('predefined-openai-gpt4o-mini', 'second'));
    expect(res.instructions).toBe('Be terse.');
    const q = lastBody().query;
    expect(q).toContain('<system>\nBe terse.\n</system>\n\n<user>\nfirst\n</user>\n\n<assistant>\nok\n</assistant>\n\n<system>\ndev note\n</system>\n\n<user>\nsecond\n</user>');
  });

  it('reasoning: a reasoning item before the message, effort passed upstream', async () => {
    const res = await client.responses.create({ model: 'gpt-4o-mini', input: 'think', reasoning: { effort: 'high' } });
    expect(lastBody().reasoningEffort).toBe('max');
    expect(res.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(res.output[0]).toMatchObject({ type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: THINKING_TEXT }] });
    expect(res.reasoning?.effort).toBe('high');
  });
});

describe('responses.stream', () => {
  it('the exact event sequence, sequence numbers, and the final response', async () => {
    const stream = client.responses.stream({ model: 'deepseek-r1', input: 'stream me please' });
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = '';
    stream.on('event', (e) => {
      types.push(e.type);
      seqs.push(e.sequence_number);
    });
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    const text = answer('predefined-deepseek-r1', 'stream me please');
    expect(deltas).toBe(text);
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    expect(final.usage).toEqual(usageOf('stream me please', text));
    expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect(final.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: THINKING_TEXT }] });
    expect(seqs).toEqual(types.map((_, i) => i));
    // collapse runs of deltas to check the order
    const shape = types.filter((t, i) => !(t.endsWith('.delta') && types[i - 1] === t));
    expect(shape).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('create({stream: true}) yields the same events; no [DONE] is needed', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'raw', stream: true });
    let text = '';
    let completed = 0;
    for await (const e of stream) {
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') completed++;
    }
    expect(text).toBe(answer('predefined-openai-gpt4o-mini', 'raw'));
    expect(completed).toBe(1);
  });

  it('a failure after the answer started: an error event, then response.failed; finalResponse rejects', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 2, errorCode: 'model_error', message: 'the model fell over' });
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'one two three four five' });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const err = (await stream.finalResponse().catch((e: unknown) => e)) as { type?: string; code?: string; message?: string };
    expect(err).toMatchObject({ type: 'error', code: 'model_error' });
    expect(err.message).toContain('the model fell over');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);
    expect(types.at(-1)).toBe('error');
  });

  it('the raw wire of a failure ends with error then response.failed', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 1 });
    const res = await fetch(`${stack.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'a b c', stream: true }),
    });
    const events = [...(await res.text()).matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(events.slice(-2)).toEqual(['error', 'response.failed']);
  });
});

describe('errors before the answer, OpenAI-shaped', () => {
  it.each([
    ['an unknown previous_response_id', { input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id', 'previous_response_not_found'],
    ['no input', {}, 'input', 'missing_required_parameter'],
    ['a hosted tool other than web search', { input: 'x', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools[0].type', 'unsupported_value'],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 'input[0].content[0]', 'unsupported_content'],
    [
      'an audio part (the Responses API has none)',
      {
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'x' },
              { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
            ],
          },
        ],
      },
      'input[0].content[1]',
      'unsupported_content',
    ],
    ['an unknown effort', { input: 'x', reasoning: { effort: 'huge' } }, 'reasoning.effort', 'invalid_value'],
  ])('400 for %s', async (_name, extra, param, code) => {
    const err = (await client.responses.create({ model: 'gpt-4o-mini', ...extra } as never).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param, code });
    expect(stack.sim.stats().queries).toBe(0);
  });

  it('401 with a wrong key', async () => {
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: stack.baseURL, maxRetries: 0 });
    await expect(bad.responses.create({ model: 'gpt-4o-mini', input: 'x' })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
