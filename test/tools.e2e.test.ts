/**
 * Emulated tool calls through each SDK: request with tools → tool call → the result sent back → final answer,
 * streamed and not, plus the malformed answer (returned as text), repairs, tool_choice, and schema checks.
 * The simulator answers a query with the tool section in the gateway's tool format (src/simulator/tools.ts).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simUsage } from '../src/simulator/index.js';
import { TOOL_PREAMBLE, TOOL_RESULT_PREFIX, TOOL_SKIP_ANSWER } from '../src/simulator/tools.js';
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

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city'],
  additionalProperties: false,
};
const WEATHER_ARGS = '{"city":"city-value","unit":"celsius"}';
const RAW_CALL = `<tool_call name="get_weather">${WEATHER_ARGS}</tool_call>`;
const MALFORMED = '<tool_call name="get_weather">{"broken": "unterminated</tool_call>';
const RESULT = '{"temp_c":18,"sky":"clear"}';

/** the function part of a chat tool call (the SDK's type also allows custom tool calls) */
const fn = (c: OpenAI.Chat.ChatCompletionMessageToolCall | undefined) => (c as OpenAI.Chat.ChatCompletionMessageFunctionToolCall | undefined)?.function;

const lastQuery = () => (stack.sim.stats().lastQuery as { query: string }).query;
const queries = () => stack.sim.stats().queries;

const chatTools: OpenAI.Chat.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: WEATHER_SCHEMA } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
];

describe('chat completions', () => {
  it('round trip: tool_calls + finish_reason, then the tool result back, then the answer', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: chatTools });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(choice?.message.tool_calls).toHaveLength(1);
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: WEATHER_ARGS } });
    expect(call?.id).toMatch(/^call_[0-9a-f]{24}$/);
    // usage counts what the model really wrote
    expect(first.usage?.completion_tokens).toBe(simUsage('', RAW_CALL).outputTokens);
    expect(lastQuery()).toContain('\n\n<tools>\n');
    expect(lastQuery()).toContain('{"name":"get_weather","description":"Current weather","parameters":');

    messages.push(choice!.message, { role: 'tool', tool_call_id: call!.id, content: RESULT });
    const second = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: chatTools });
    expect(second.choices[0]?.message.content).toBe(TOOL_RESULT_PREFIX + RESULT);
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(lastQuery()).toContain(`<tool_call id="${call!.id}" name="get_weather">${WEATHER_ARGS}</tool_call>`);
    expect(lastQuery()).toContain(`<tool_result id="${call!.id}" name="get_weather">\n${RESULT}\n</tool_result>`);
  });

  it('stream: text before the call streams, the call arrives whole (split into many deltas upstream)', async () => {
    stack.sim.setOptions({ deltas: 40 });
    const stream = openai.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_PREAMBLE go' }], tools: chatTools });
    let content = '';
    stream.on('content', (d) => {
      content += d;
    });
    const final = await stream.finalChatCompletion();
    expect(content).toBe(TOOL_PREAMBLE);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(fn(final.choices[0]?.message.tool_calls?.[0])).toEqual({ name: 'get_weather', arguments: WEATHER_ARGS });
  });

  it('malformed tool answer: returned as text, finish_reason stop, one upstream call, logged', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_MALFORMED' }], tools: chatTools });
    expect(res.choices[0]?.message).toMatchObject({ content: MALFORMED });
    expect(res.choices[0]?.message.tool_calls).toBeUndefined();
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(queries()).toBe(1);
    expect(stack.logs()).toContain('malformed tool call');
  });

  it('arguments that break the schema: returned as text', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_BAD_ARGS' }], tools: chatTools });
    expect(res.choices[0]?.message.content).toBe('<tool_call name="get_weather">{"city":42,"unit":"celsius"}</tool_call>');
    expect(res.choices[0]?.finish_reason).toBe('stop');
  });

  it('repair: the list form in a fence with string arguments', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_LIST' }], tools: chatTools });
    expect(fn(res.choices[0]?.message.tool_calls?.[0])).toEqual({ name: 'get_weather', arguments: WEATHER_ARGS });
  });

  it('several calls at once', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_ALL' }], tools: chatTools });
    expect(res.choices[0]?.message.tool_calls?.map((c) => [fn(c)?.name, fn(c)?.arguments])).toEqual([
      ['get_weather', WEATHER_ARGS],
      ['get_time', '{"zone":"zone-value"}'],
    ]);
  });

  it('tool_choice: none sends no tool section; a named tool is asked for and called', async () => {
    const none = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], tools: chatTools, tool_choice: 'none' });
    expect(lastQuery()).toBe('hi');
    expect(none.choices[0]?.finish_reason).toBe('stop');
    const named = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      tools: chatTools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(lastQuery()).toContain('You must call the tool "get_time" in this reply.');
    expect(fn(named.choices[0]?.message.tool_calls?.[0])?.name).toBe('get_time');
  });

  it('a plain answer although tools were offered', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SIM_TOOL_SKIP' }], tools: chatTools });
    expect(res.choices[0]?.message.content).toBe(TOOL_SKIP_ANSWER);
    expect(res.choices[0]?.finish_reason).toBe('stop');
  });
});

const responseTools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'get_weather', description: 'Current weather', parameters: WEATHER_SCHEMA, strict: false }];

describe('Responses', () => {
  it('round trip: a function_call item, the function_call_output back, the answer', async () => {
    const first = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Weather in Paris?', tools: responseTools });
    expect(first.output).toHaveLength(1);
    const call = first.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', status: 'completed', name: 'get_weather', arguments: WEATHER_ARGS });
    expect(call.call_id).toMatch(/^call_/);
    expect(call.id).toMatch(/^fc_/);
    expect(first.output_text).toBe('');
    expect(first.tools).toEqual(responseTools);

    const second = await openai.responses.create({
      model: 'gpt-4o-mini',
      tools: responseTools,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: RESULT },
      ],
    });
    expect(second.output_text).toBe(TOOL_RESULT_PREFIX + RESULT);
    expect(lastQuery()).toContain(`<tool_result id="${call.call_id}" name="get_weather">\n${RESULT}\n</tool_result>`);
  });

  it('stream: function-call events and the final response', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o-mini', input: 'SIM_TOOL_PREAMBLE x', tools: responseTools });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    expect(final.output_text).toBe(TOOL_PREAMBLE);
    expect(final.output[1]).toMatchObject({ name: 'get_weather', arguments: WEATHER_ARGS, status: 'completed' });
    const tail = types.slice(types.indexOf('response.output_text.done'));
    expect(tail).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('malformed tool answer: a message with the text', async () => {
    const res = await openai.responses.create({ model: 'gpt-4o-mini', input: 'SIM_TOOL_MALFORMED', tools: responseTools });
    expect(res.output.map((o) => o.type)).toEqual(['message']);
    expect(res.output_text).toBe(MALFORMED);
  });
});

const anthropicTools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Current weather', input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema }];

describe('Anthropic Messages', () => {
  it('round trip: tool_use + stop_reason tool_use, a tool_result back, the answer', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages, tools: anthropicTools });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toHaveLength(1);
    const use = first.content[0] as Anthropic.ToolUseBlock;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'city-value', unit: 'celsius' } });
    expect(use.id).toMatch(/^toolu_[0-9a-f]{24}$/);

    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: RESULT }] });
    const second = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages, tools: anthropicTools });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toEqual([{ type: 'text', text: TOOL_RESULT_PREFIX + RESULT }]);
    expect(lastQuery()).toContain(`<tool_call id="${use.id}" name="get_weather">${WEATHER_ARGS}</tool_call>`);
  });

  it('stream: text block then tool_use block with input_json_delta', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'SIM_TOOL_PREAMBLE x' }], tools: anthropicTools });
    let json = '';
    stream.on('inputJson', (delta) => {
      json += delta;
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'text', text: TOOL_PREAMBLE },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'city-value', unit: 'celsius' } },
    ]);
    expect(json).toBe(WEATHER_ARGS);
  });

  it('tool_choice any / tool and a tool_result with is_error', async () => {
    await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'x' }],
      tools: anthropicTools,
      tool_choice: { type: 'any' },
    });
    expect(lastQuery()).toContain('You must call at least one tool in this reply.');
    const res = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 20,
      tools: anthropicTools,
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'a' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'boom' }], is_error: true }] },
      ],
    });
    expect(lastQuery()).toContain('You must call the tool "get_weather" in this reply.');
    expect(res.content).toEqual([{ type: 'text', text: `${TOOL_RESULT_PREFIX}Error: boom` }]);
  });

  it('malformed tool answer: a text block, stop_reason end_turn', async () => {
    const res = await anthropic.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'SIM_TOOL_MALFORMED' }],
      tools: anthropicTools,
    });
    expect(res.content).toEqual([{ type: 'text', text: MALFORMED }]);
    expect(res.stop_reason).toBe('end_turn');
  });

  it('count_tokens includes the tool section', async () => {
    const without = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }] });
    const withTools = await anthropic.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }], tools: anthropicTools });
    expect(withTools.input_tokens).toBeGreaterThan(without.input_tokens + 50);
  });
});
