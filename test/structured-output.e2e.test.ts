/**
 * Structured output, emulated, through each client: the openai SDK's parse helpers (chat and Responses, streamed
 * and not), json_object mode, a fenced answer cleaned to bare JSON, LangChain's withStructuredOutput, the AI SDK's
 * generateObject / streamObject, tools together with a format, and bad formats refused with a 400 naming the field.
 * The simulator answers a query carrying the format section with indented JSON sampled from the schema
 * (src/simulator/json.ts), so every value below is exact.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, streamObject } from 'ai';
import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { simUsage } from '../src/simulator/index.js';
import { JSON_FENCE_AFTER, JSON_FENCE_BEFORE, JSON_SKIP_ANSWER } from '../src/simulator/json.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let openai: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const Person = z.object({ name: z.string(), age: z.number(), tags: z.array(z.string()), unit: z.enum(['c', 'f']), nick: z.string().nullable() });
/** what the simulator samples from Person's JSON schema */
const PERSON = { name: 'name-value', age: 1, tags: ['tags-value'], unit: 'c', nick: 'nick-value' };
/** ...and how it writes it: indented, so it streams in several deltas */
const PERSON_TEXT = JSON.stringify(PERSON, null, 2);
const FENCED = JSON_FENCE_BEFORE + PERSON_TEXT + JSON_FENCE_AFTER;
/** the simulator's answer to json_object (no schema) */
const ANSWER = { answer: 'answer-value' };
const ANSWER_TEXT = JSON.stringify(ANSWER, null, 2);

const lastQuery = () => (stack.sim.stats().lastQuery as { query: string }).query;
const user = (content: string): OpenAI.Chat.ChatCompletionMessageParam[] => [{ role: 'user', content }];

/** content deltas of a chat stream, and the final completion */
async function streamChat(params: Parameters<OpenAI['chat']['completions']['stream']>[0]) {
  const runner = openai.chat.completions.stream(params);
  const deltas: string[] = [];
  runner.on('content.delta', ({ delta }) => deltas.push(delta));
  const final = await runner.finalChatCompletion();
  return { deltas, final };
}

describe('chat completions with the openai SDK', () => {
  it('chat.completions.parse with zodResponseFormat: the parsed object, the schema in the query', async () => {
    const res = await openai.chat.completions.parse({ model: 'gpt-4o', messages: user('Who is it?'), response_format: zodResponseFormat(Person, 'person') });
    const choice = res.choices[0];
    expect(choice?.message.parsed).toEqual(PERSON);
    expect(choice?.message.content).toBe(PERSON_TEXT);
    expect(choice?.finish_reason).toBe('stop');
    expect(res.usage?.completion_tokens).toBe(simUsage('', PERSON_TEXT).outputTokens);
    const query = lastQuery();
    expect(query.startsWith('Who is it?\n\n<response_format>\n')).toBe(true);
    expect(query).toContain('\n{"name":"person","schema":{');
    expect(query.endsWith('\n</response_format>')).toBe(true);
  });

  it('chat.completions.stream with a json_schema: several deltas, the parsed object at the end', async () => {
    const { deltas, final } = await streamChat({ model: 'gpt-4o', messages: user('Who?'), response_format: zodResponseFormat(Person, 'person') });
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(PERSON_TEXT);
    expect(final.choices[0]?.message.parsed).toEqual(PERSON);
  });

  it('json_object mode: one JSON object', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: user('Answer in JSON'), response_format: { type: 'json_object' } });
    expect(res.choices[0]?.message.content).toBe(ANSWER_TEXT);
    expect(JSON.parse(res.choices[0]?.message.content ?? '')).toEqual(ANSWER);
    expect(lastQuery()).toContain('\nThe value must be a JSON object.\n</response_format>');
  });

  it('a fenced answer with prose around it reaches the client as bare JSON (usage counts what the model wrote)', async () => {
    const res = await openai.chat.completions.parse({ model: 'gpt-4o', messages: user('SIM_JSON_FENCED'), response_format: zodResponseFormat(Person, 'person') });
    expect(res.choices[0]?.message.content).toBe(PERSON_TEXT);
    expect(res.choices[0]?.message.parsed).toEqual(PERSON);
    expect(res.usage?.completion_tokens).toBe(simUsage('', FENCED).outputTokens);
  });

  it('the same fenced answer streamed: only the JSON arrives', async () => {
    const { deltas, final } = await streamChat({ model: 'gpt-4o', messages: user('SIM_JSON_FENCED'), response_format: zodResponseFormat(Person, 'person') });
    expect(deltas.join('')).toBe(PERSON_TEXT);
    expect(deltas.length).toBeGreaterThan(3);
    expect(final.choices[0]?.message.parsed).toEqual(PERSON);
  });

  it('JSON that breaks the schema: returned as the model gave it, and a warning logged for the request', async () => {
    const { data: res, response } = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: user('SIM_JSON_MISMATCH'), response_format: zodResponseFormat(Person, 'person') })
      .withResponse();
    expect(JSON.parse(res.choices[0]?.message.content ?? '')).toEqual({ ...PERSON, name: 42, age: 'not-a-number', unit: 42, tags: 42, nick: 42 });
    const warning = stack
      .logs()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'the model did not answer with the JSON asked for; returned as it came');
    expect(warning).toMatchObject({ level: 40, reqId: response.headers.get('x-request-id'), format: 'json_schema' });
    expect(warning?.reason).toMatch(/^the answer does not match the schema "person": \$\.name: expected string, got integer/);
  });

  it('an answer with no JSON in it is passed unchanged, streamed or not', async () => {
    const format = { type: 'json_object' } as const;
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: user('SIM_JSON_SKIP'), response_format: format });
    expect(res.choices[0]?.message.content).toBe(JSON_SKIP_ANSWER);
    const { deltas } = await streamChat({ model: 'gpt-4o', messages: user('SIM_JSON_SKIP'), response_format: format });
    expect(deltas.join('')).toBe(JSON_SKIP_ANSWER);
  });

  it('tools and a format: the tool call wins, and the answer after the tool result is the JSON', async () => {
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup', strict: true, parameters: { type: 'object', properties: {}, additionalProperties: false } } },
    ];
    const response_format = zodResponseFormat(Person, 'person');
    const first = await openai.chat.completions.create({ model: 'gpt-4o', messages: user('Who?'), tools, response_format });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(first.choices[0]?.message.content).toBeNull();
    expect(call?.type === 'function' && call.function.name).toBe('lookup');
    expect(lastQuery()).toMatch(/<\/tools>\n\n<response_format>\n[\s\S]*\nIf you call tools, write only the tool calls/);
    const second = await openai.chat.completions.parse({
      model: 'gpt-4o',
      messages: [...user('Who?'), first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessageParam, { role: 'tool', tool_call_id: call?.id ?? '', content: 'Ann' }],
      tools,
      response_format,
    });
    expect(second.choices[0]?.message.parsed).toEqual(PERSON);
  });
});

describe('Responses API with the openai SDK', () => {
  it('responses.parse with zodTextFormat: output_parsed, and text.format echoed', async () => {
    const res = await openai.responses.parse({ model: 'gpt-4o', input: 'Who?', text: { format: zodTextFormat(Person, 'person') } });
    expect(res.output_parsed).toEqual(PERSON);
    expect(res.output_text).toBe(PERSON_TEXT);
    expect(res.text?.format).toMatchObject({ type: 'json_schema', name: 'person', strict: true });
  });

  it('responses.create with json_object and a fenced answer: bare JSON', async () => {
    const res = await openai.responses.create({ model: 'gpt-4o', input: 'SIM_JSON_FENCED', text: { format: { type: 'json_object' } } });
    expect(res.output_text).toBe(ANSWER_TEXT);
    expect(res.text?.format).toEqual({ type: 'json_object' });
  });

  it('responses.stream with a fenced answer: the deltas are the JSON only', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: 'SIM_JSON_FENCED', text: { format: zodTextFormat(Person, 'person') } });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe(PERSON_TEXT);
    expect(final.output_parsed).toEqual(PERSON);
  });
});

describe('LangChain withStructuredOutput', () => {
  const model = () => new ChatOpenAI({ model: 'gpt-4o', apiKey: CLIENT_KEY, configuration: { baseURL: stack.baseURL }, maxRetries: 0 });

  it("method 'jsonSchema': the parsed object", async () => {
    const res = await model()
      .withStructuredOutput(Person, { name: 'person', method: 'jsonSchema' })
      .invoke([new HumanMessage('SIM_JSON_FENCED')]);
    expect(res).toEqual(PERSON);
    expect(lastQuery()).toContain('{"name":"person","schema":{');
  });

  it("method 'jsonMode': the parsed object", async () => {
    const res = await model()
      .withStructuredOutput(z.object({ answer: z.string() }), { method: 'jsonMode' })
      .invoke([new HumanMessage('Reply in JSON')]);
    expect(res).toEqual(ANSWER);
  });
});

describe('Vercel AI SDK with @ai-sdk/openai-compatible', () => {
  const provider = () => createOpenAICompatible({ name: 'ondemand', baseURL: stack.baseURL, apiKey: CLIENT_KEY, includeUsage: true, supportsStructuredOutputs: true });

  it('generateObject: the object, from a fenced answer', async () => {
    const res = await generateObject({ model: provider().chatModel('gpt-4o'), schema: Person, schemaName: 'person', prompt: 'SIM_JSON_FENCED', maxRetries: 0 });
    expect(res.object).toEqual(PERSON);
    expect(res.finishReason).toBe('stop');
    expect(res.usage.outputTokens).toBe(simUsage('', FENCED).outputTokens);
  });

  it('streamObject: partial objects, then the whole one', async () => {
    const result = streamObject({ model: provider().chatModel('gpt-4o'), schema: Person, prompt: 'SIM_JSON_FENCED', maxRetries: 0 });
    const partials: unknown[] = [];
    for await (const partial of result.partialObjectStream) partials.push(partial);
    expect(partials.length).toBeGreaterThan(1);
    expect(partials.at(-1)).toEqual(PERSON);
    expect(await result.object).toEqual(PERSON);
  });
});

describe('bad formats: a 400 naming the field', () => {
  it.each<[string, Record<string, unknown>, string, string]>([
    ['chat: unknown type', { messages: user('x'), response_format: { type: 'yaml' } }, 'response_format.type', 'invalid_value'],
    ['chat: json_schema without its object', { messages: user('x'), response_format: { type: 'json_schema' } }, 'response_format.json_schema', 'missing_required_parameter'],
    [
      'chat: json_schema without a name',
      { messages: user('x'), response_format: { type: 'json_schema', json_schema: { schema: {} } } },
      'response_format.json_schema.name',
      'missing_required_parameter',
    ],
    [
      'chat: a schema that is not an object',
      { messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 'n', schema: 'x' } } },
      'response_format.json_schema.schema',
      'invalid_type',
    ],
    ['responses: unknown type', { input: 'x', text: { format: { type: 'yaml' } } }, 'text.format.type', 'invalid_value'],
    ['responses: json_schema without a name', { input: 'x', text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name', 'missing_required_parameter'],
  ])('%s', async (name, body, param, code) => {
    const path = name.startsWith('chat') ? '/v1/chat/completions' : '/v1/responses';
    const res = await fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', ...body }),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { type: string; param: string; code: string } };
    expect(error).toMatchObject({ type: 'invalid_request_error', param, code });
    expect(stack.sim.stats().queries).toBe(0);
  });
});
