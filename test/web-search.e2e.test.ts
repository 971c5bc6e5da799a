/**
 * Web search through the real SDKs, against the simulator's Internet Search: openai chat completions
 * (web_search_options), Responses (a web_search tool, create and stream) and @anthropic-ai/sdk (the web search
 * server tool) each get their native shapes, every web search query carries the plugin, a plain one none; the
 * plugin's failure, its timeouts, refused plugins and the keep-alive during a long plugin run (docs/plugins.md).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { citedSources, INTERNET_SEARCH_PLUGIN_ID, PLUGIN_FAILURE_REASON, pluginAnswerText, searchQueryFor } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const NAMED_KEY = 'sk-named-no-plugins-0001';
let stack: Stack;
let openai: OpenAI;
let anthropic: Anthropic;
beforeAll(async () => {
  stack = await startStack({
    env: {
      KEEPALIVE_PING_MS: '100',
      // shorter than a plugin run below: only the plugin floor keeps the stream alive
      IDLE_TIMEOUT_MS: '300',
      FIRST_BYTE_TIMEOUT_MS: '300',
      PLUGIN_TIMEOUT_MS: '10000',
      CLIENT_KEYS: JSON.stringify([{ name: 'no-plugins', key: NAMED_KEY, plugins: [] }]),
    },
  });
  openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.url, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const QUESTION = 'What causes ocean tides?';
const SEARCH = searchQueryFor(QUESTION);
const ANSWER = pluginAnswerText(QUESTION);
const SOURCES = citedSources(SEARCH);
const bodies = () => stack.sim.stats().queryBodies as Array<{ pluginIds?: string[]; query: string }>;
const lastPlugins = () => bodies().at(-1)?.pluginIds;

/** Each cited source as a [link](url) span of the answer, with its exact UTF-16 indices. */
function expectedSpans(text: string): Array<{ url: string; title: string; start: number; end: number }> {
  return SOURCES.map((s) => {
    const link = `[${s.title}](${s.url})`;
    const start = text.indexOf(link);
    return { url: s.url, title: s.title, start, end: start + link.length };
  });
}

describe('chat completions with web_search_options', () => {
  it('create: the plugin goes upstream, the answer carries url_citation annotations pointing at the links', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }], web_search_options: {} });
    const message = res.choices[0]?.message;
    expect(message?.content).toBe(ANSWER);
    expect(lastPlugins()).toEqual([INTERNET_SEARCH_PLUGIN_ID]);
    expect(message?.annotations?.map((a) => ({ url: a.url_citation.url, title: a.url_citation.title, start: a.url_citation.start_index, end: a.url_citation.end_index }))).toEqual(
      expectedSpans(ANSWER),
    );
    for (const a of message?.annotations ?? []) expect(ANSWER.slice(a.url_citation.start_index, a.url_citation.end_index)).toContain(a.url_citation.url);
  });

  it('a plain request sends no plugins and gets no annotations', async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }] });
    expect(lastPlugins()).toEqual([]);
    expect(res.choices[0]?.message).not.toHaveProperty('annotations');
    expect(res.choices[0]?.message.content).not.toContain('web search');
  });

  it('stream: the text as it came, the annotations in one delta before the finish, no planner text', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }], web_search_options: {}, stream: true });
    let text = '';
    let reasoning = '';
    let annotations: unknown[] = [];
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string; annotations?: unknown[] } | undefined;
      text += delta?.content ?? '';
      reasoning += delta?.reasoning_content ?? '';
      if (delta?.annotations) annotations = delta.annotations;
    }
    expect(text).toBe(ANSWER);
    expect(reasoning).toBe('');
    expect(annotations).toHaveLength(3);
    expect(lastPlugins()).toEqual([INTERNET_SEARCH_PLUGIN_ID]);
  });
});

describe('Responses with a web_search tool', () => {
  it('create: a web_search_call item with the query OnDemand ran, then the message with annotations', async () => {
    const res = await openai.responses.create({ model: 'gpt-4o', input: QUESTION, tools: [{ type: 'web_search' }] });
    expect(lastPlugins()).toEqual([INTERNET_SEARCH_PLUGIN_ID]);
    expect(res.output.map((i) => i.type)).toEqual(['web_search_call', 'message']);
    expect(res.output[0]).toMatchObject({ type: 'web_search_call', status: 'completed', action: { type: 'search', query: SEARCH } });
    expect(res.output_text).toBe(ANSWER);
    const part = (res.output[1] as OpenAI.Responses.ResponseOutputMessage).content[0] as OpenAI.Responses.ResponseOutputText;
    expect(part.annotations.map((a) => (a.type === 'url_citation' ? { url: a.url, title: a.title, start: a.start_index, end: a.end_index } : a))).toEqual(expectedSpans(ANSWER));
  });

  it('web_search_preview too', async () => {
    const res = await openai.responses.create({ model: 'gpt-4o', input: QUESTION, tools: [{ type: 'web_search_preview' }] });
    expect(res.output[0]?.type).toBe('web_search_call');
    expect(lastPlugins()).toEqual([INTERNET_SEARCH_PLUGIN_ID]);
  });

  it('stream: the web search events in order, then the text and its annotations', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: QUESTION, tools: [{ type: 'web_search' }] });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    const search = types.filter((t) => t.includes('web_search_call') || t.startsWith('response.output_item'));
    expect(search.slice(0, 5)).toEqual([
      'response.output_item.added',
      'response.web_search_call.in_progress',
      'response.web_search_call.searching',
      'response.web_search_call.completed',
      'response.output_item.done',
    ]);
    expect(types.indexOf('response.web_search_call.completed')).toBeLessThan(types.indexOf('response.output_text.delta'));
    expect(types.filter((t) => t === 'response.output_text.annotation.added')).toHaveLength(3);
    expect(types.at(-1)).toBe('response.completed');
    expect(final.output[0]).toMatchObject({ type: 'web_search_call', action: { query: SEARCH } });
    expect(final.output_text).toBe(ANSWER);
  });
});

describe('Anthropic Messages with the web search server tool', () => {
  const tools = [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 3 }];

  it('create: server_tool_use with the query, its result listing the cited sources, the usage count', async () => {
    const msg = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 512, messages: [{ role: 'user', content: QUESTION }], tools });
    expect(lastPlugins()).toEqual([INTERNET_SEARCH_PLUGIN_ID]);
    expect(msg.content.map((b) => b.type)).toEqual(['server_tool_use', 'web_search_tool_result', 'text']);
    const use = msg.content[0] as Anthropic.ServerToolUseBlock;
    expect(use).toMatchObject({ name: 'web_search', input: { query: SEARCH } });
    expect(msg.content[1]).toMatchObject({ tool_use_id: use.id, content: SOURCES.map((s) => ({ type: 'web_search_result', url: s.url, title: s.title })) });
    expect((msg.content[2] as Anthropic.TextBlock).text).toBe(ANSWER);
    expect(msg.usage.server_tool_use).toEqual({ web_search_requests: 1 });
  });

  it('stream: the SDK accumulates the same blocks, the query parsed from its input_json_delta', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 512, messages: [{ role: 'user', content: QUESTION }], tools });
    const msg = await stream.finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(['server_tool_use', 'text', 'web_search_tool_result']);
    expect(msg.content[0]).toMatchObject({ name: 'web_search', input: { query: SEARCH } });
    expect((msg.content[1] as Anthropic.TextBlock).text).toBe(ANSWER);
    expect(msg.usage.server_tool_use).toEqual({ web_search_requests: 1 });
  });
});

describe('plugins: refusals, failures, timeouts', () => {
  it('an unknown plugin is a 400 before any upstream call', async () => {
    const before = stack.sim.stats().queries;
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], ondemand_plugins: ['plugin-12345'] } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unknown_plugin');
    expect(stack.sim.stats().queries).toBe(before);
  });

  it('a client key refused plugins gets 400 plugin_not_allowed before any upstream call; plain requests still work', async () => {
    const named = new OpenAI({ apiKey: NAMED_KEY, baseURL: stack.baseURL, maxRetries: 0 });
    const before = stack.sim.stats().queries;
    const err = await named.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], web_search_options: {} }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('plugin_not_allowed');
    expect(stack.sim.stats().queries).toBe(before);
    const ok = await named.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.choices[0]?.message.content).toContain('You said: x');
  });

  it("a plugin's own failure is passed on as the answer's text", async () => {
    const res = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SIM_PLUGIN_FAIL tides' }], web_search_options: {} });
    expect(res.choices[0]?.message.content).toContain(PLUGIN_FAILURE_REASON);
    expect(res.choices[0]?.message.annotations).toEqual([]);
  });

  it('plugin_execution_timeout (504) is a clear 504, not retried on another key', async () => {
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SIM_PLUGIN_TIMEOUT tides' }], web_search_options: {} })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('plugin_execution_timeout');
    expect(stack.sim.stats().queries).toBe(1);
    // the key was not blamed: every key still serves
    const res = await stack.gateway.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });

  it('plugin_execution_timeout inside a stream ends it with that error, the search marked failed', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: 'SIM_PLUGIN_TIMEOUT_STREAM tides', tools: [{ type: 'web_search' }] });
    const events: Array<{ type: string; code?: string | null; response?: { output: Array<{ status?: string }> } }> = [];
    await (async () => {
      for await (const event of stream) events.push(event as (typeof events)[number]);
    })().catch(() => undefined);
    const types = events.map((e) => e.type);
    // the SDK throws at the error event, the last it hands out
    expect(types.slice(-3)).toEqual(['response.web_search_call.in_progress', 'response.web_search_call.searching', 'error']);
    expect(events.find((e) => e.type === 'error')?.code).toBe('plugin_execution_timeout');
    expect(stack.sim.stats().queries).toBe(1);
    const raw = await fetch(`${stack.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'SIM_PLUGIN_TIMEOUT_STREAM tides', tools: [{ type: 'web_search' }], stream: true }),
    }).then((r) => r.text());
    const failed = raw.split('\n').find((l) => l.includes('"type":"response.failed"')) ?? '';
    expect((JSON.parse(failed.slice('data: '.length)) as { response: { output: Array<{ status: string }> } }).response.output[0]?.status).toBe('failed');
  });

  it('a non-stream request is committed at the 200 too: a failure inside the plugin run is not retried', async () => {
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SIM_PLUGIN_TIMEOUT_STREAM tides' }], web_search_options: {} })
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('plugin_execution_timeout');
    expect(stack.sim.stats().queries).toBe(1);
  });

  it('a long plugin run trips no timeout and the client hears a ping at least every keep-alive interval', async () => {
    stack.sim.setOptions({ pluginDelayMs: 1200 });
    const started = Date.now();
    const res = await fetch(`${stack.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: QUESTION }], web_search_options: {}, stream: true }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let wire = '';
    let longestGap = 0;
    let last = Date.now();
    for (;;) {
      const { done, value } = await reader.read();
      const now = Date.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      if (done) break;
      wire += decoder.decode(value, { stream: true });
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(wire).toContain(': ping');
    expect(wire).toContain('data: [DONE]');
    expect(longestGap).toBeLessThan(700);
    const text = wire
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => (JSON.parse(f.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe(ANSWER);
  });
});
