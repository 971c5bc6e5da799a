/** POST /v1/messages and /v1/messages/count_tokens through the official @anthropic-ai/sdk. */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../src/core/tokens.js';
import { simUsage, THINKING_TEXT } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: Anthropic;
beforeAll(async () => {
  stack = await startStack();
  // the SDK sends the key as x-api-key and an anthropic-version header
  client = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.url, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const MODEL = 'claude-sonnet-4-6';
const ENDPOINT = 'predefined-claude-sonnet-4-6';
const answer = (endpoint: string, said: string) => `Hello from the OnDemand simulator (${endpoint}). You said: ${said}`;
const lastBody = () => stack.sim.stats().lastQuery as { query: string; modelConfigs?: Record<string, unknown>; reasoningEffort?: string };
const usageOf = (query: string, text: string) => {
  const u = simUsage(query, text);
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
};

describe('messages.create', () => {
  it('a text answer: content, stop_reason, usage, parameters upstream', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 64,
      temperature: 0.3,
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'Say hi' }],
    });
    const text = answer(ENDPOINT, 'Say hi');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe(MODEL);
    expect(msg.content).toEqual([{ type: 'text', text }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.stop_sequence).toBeNull();
    expect(msg.usage).toEqual(usageOf('Say hi', text));
    // max_tokens is enforced by the gateway, not sent (UPSTREAM_MAX_TOKENS sends it)
    expect(lastBody().modelConfigs).toEqual({ temperature: 0.3, stopSequences: ['END'] });
  });

  it('system, blocks and turns become the transcript', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be terse.' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'first' }] },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'second' },
      ],
    });
    expect(msg.content).toEqual([{ type: 'text', text: answer(ENDPOINT, 'second') }]);
    expect(lastBody().query).toContain('<system>\nBe terse.\n</system>\n\n<user>\nfirst\n</user>\n\n<assistant>\nok\n</assistant>\n\n<user>\nsecond\n</user>');
  });

  it.each([
    ['low', 'low'],
    ['high', 'max'],
    ['xhigh', 'max'],
  ] as const)('output_config.effort %s reaches OnDemand as %s', async (effort, expected) => {
    const params = { model: MODEL, max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }], output_config: { effort } };
    const msg = await client.messages.create(params as unknown as Parameters<typeof client.messages.create>[0] & { stream?: false });
    expect(msg.stop_reason).toBe('end_turn');
    expect(lastBody().reasoningEffort).toBe(expected);
  });

  it('thinking: a thinking block from reasoning, budget mapped to an effort', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 20_000,
      thinking: { type: 'enabled', budget_tokens: 8000 },
      messages: [{ role: 'user', content: 'think' }],
    });
    expect(lastBody().reasoningEffort).toBe('medium');
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: THINKING_TEXT, signature: '' },
      { type: 'text', text: answer(ENDPOINT, 'think') },
    ]);
  });
});

describe('messages.stream', () => {
  it('the Anthropic event sequence and the final message', async () => {
    const stream = client.messages.stream({ model: 'deepseek-r1', max_tokens: 100, messages: [{ role: 'user', content: 'stream me please' }] });
    const types: string[] = [];
    let text = '';
    let thinking = '';
    stream.on('streamEvent', (e) => types.push(e.type));
    stream.on('text', (t) => {
      text += t;
    });
    stream.on('thinking', (t) => {
      thinking += t;
    });
    const final = await stream.finalMessage();
    const expected = answer('predefined-deepseek-r1', 'stream me please');
    expect(text).toBe(expected);
    expect(thinking).toBe(THINKING_TEXT);
    expect(final.content).toEqual([
      { type: 'thinking', thinking: THINKING_TEXT, signature: '' },
      { type: 'text', text: expected },
    ]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ input_tokens: simUsage('stream me please', '').inputTokens, output_tokens: simUsage('', expected).outputTokens });
    const shape = types.filter((t, i) => !(t === 'content_block_delta' && types[i - 1] === t));
    expect(shape).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
  });

  it('message_start carries the locally counted input tokens', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'count me' }] });
    let startInput = -1;
    stream.on('streamEvent', (e) => {
      if (e.type === 'message_start') startInput = e.message.usage.input_tokens;
    });
    await stream.finalMessage();
    expect(startInput).toBe(countTokens('count me'));
  });

  it("a failure after the answer started: the SDK throws with Anthropic's error type", async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 2, errorCode: 'model_error', message: 'the model fell over' });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'one two three four' }] });
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const err = (await stream.finalMessage().catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('the model fell over') } });
    expect(text.length).toBeGreaterThan(0);
  });
});

describe('messages.countTokens', () => {
  it('counts the query the request becomes, without a model call', async () => {
    const res = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }] });
    expect(res).toEqual({ input_tokens: countTokens('hello there') });
    const withSystem = await client.messages.countTokens({ model: MODEL, system: 'Be terse.', messages: [{ role: 'user', content: 'hello there' }] });
    expect(withSystem.input_tokens).toBeGreaterThan(res.input_tokens);
    expect(stack.sim.stats().queries).toBe(0);
  });
});

describe('images and documents', () => {
  const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n').toString('base64');

  it('uploads image and document blocks into the request session and the model sees them', async () => {
    const res = await client.messages.create({
      model: MODEL,
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF }, title: 'report.pdf' },
            { type: 'text', text: 'what is in these?' },
          ],
        },
      ],
    });
    const text = res.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    expect(text).toMatch(/Attached: .*report\.pdf/);
    expect(stack.sim.stats().mediaUploads).toBe(2);
  });
});

describe("errors in Anthropic's shape", () => {
  it('400 without max_tokens', async () => {
    const err = (await client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] } as never).catch((e: unknown) => e)) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: "Missing required parameter: 'max_tokens'." } });
  });

  it.each([
    ['an image block with an unknown source type', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f_1' } }] }] }],
    ['a server tool other than web search', { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'code_execution_20250522', name: 'code_execution' }] }],
    ['temperature above 1', { messages: [{ role: 'user', content: 'x' }], temperature: 1.5 }],
    // a system entry among the turns is accepted (Claude Code sends them); a role of its own is not
    ['a developer role message', { messages: [{ role: 'developer', content: 'x' }] }],
    [
      'an image in a system entry',
      {
        messages: [
          { role: 'system', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] },
          { role: 'user', content: 'x' },
        ],
      },
    ],
  ])('400 for %s', async (_name, extra) => {
    const err = (await client.messages.create({ model: MODEL, max_tokens: 5, ...extra } as never).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('an audio block is refused naming it and where audio is taken', async () => {
    const audio = { type: 'audio', source: { type: 'base64', media_type: 'audio/wav', data: 'UklGRg==' } };
    const err = (await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: [audio] }] } as never).catch((e: unknown) => e)) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toEqual({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: "messages.0.content.0: Anthropic's Messages API has no audio content block; send audio to /v1/chat/completions as an input_audio part (wav or mp3).",
      },
    });
    expect(stack.sim.stats().sessionsCreated).toBe(0);
  });

  it("401 with a wrong key, in Anthropic's shape", async () => {
    const bad = new Anthropic({ apiKey: 'wrong', baseURL: stack.url, maxRetries: 0 });
    const err = (await bad.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Incorrect API key provided.' } });
  });

  it("invalid JSON is a 400 in Anthropic's shape", async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': CLIENT_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('upstream keys all refused: 503 overloaded_error', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 401 });
    const err = (await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)) as InstanceType<
      typeof Anthropic.APIError
    >;
    expect(err.status).toBe(503);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});
