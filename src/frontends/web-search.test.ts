/** The three front ends' web search switches in and their native shapes out (docs/plugins.md). */
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../core/errors.js';
import type { GatewayEvent, PluginCall, UrlCitation, Usage } from '../core/types.js';
import { wholeAnswerOf } from './answer-lifecycle.js';
import { createMessagesEncoder, renderMessage } from './anthropic/render.js';
import { parseMessagesRequest } from './anthropic/request.js';
import { parseChatRequest } from './openai-chat/request.js';
import { renderChatCompletion } from './openai-chat/response.js';
import { createChatChunkEncoder } from './openai-chat/stream.js';
import { createResponsesEncoder, renderResponse, type ResponseInit } from './responses/render.js';
import { parseResponsesRequest } from './responses/request.js';

const usage: Usage = { inputTokens: 5, outputTokens: 7, totalTokens: 12, estimated: false };
const call: PluginCall = { pluginId: 'plugin-1713924030', name: 'fetchInternetData', query: 'tides cause', webSearch: true };
const TEXT = 'Tides come from the Moon. Source: [NOAA](https://noaa.gov/tides)';
const citation: UrlCitation = { url: 'https://noaa.gov/tides', title: 'NOAA', startIndex: TEXT.indexOf('['), endIndex: TEXT.length };
const answerEvents: GatewayEvent[] = [
  { type: 'plugin_call', call },
  { type: 'text', text: TEXT.slice(0, 10) },
  { type: 'text', text: TEXT.slice(10) },
  { type: 'citations', citations: [citation] },
  { type: 'usage', usage },
  { type: 'end', finishReason: 'stop' },
];
const collected = wholeAnswerOf(answerEvents);
const messages = [{ role: 'user', content: 'why tides?' }];

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a 400');
}

function sseFrames(wire: string): Array<{ event: string; data: Record<string, unknown> }> {
  return wire
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      const [ev, data] = f.split('\n');
      return { event: (ev as string).slice('event: '.length), data: JSON.parse((data as string).slice('data: '.length)) as Record<string, unknown> };
    });
}

describe('requests', () => {
  it('chat: web_search_options and ondemand_plugins', () => {
    const { request } = parseChatRequest({
      model: 'm',
      messages,
      web_search_options: { search_context_size: 'low', user_location: { type: 'approximate', approximate: { city: 'Oslo', country: 'NO' } } },
      ondemand_plugins: ['plugin-42'],
    });
    expect(request.plugins).toEqual({ webSearch: { contextSize: 'low', userLocation: { city: 'Oslo', country: 'NO' } }, ids: ['plugin-42'] });
    expect(parseChatRequest({ model: 'm', messages, web_search_options: {} }).request.plugins).toEqual({ webSearch: {} });
    expect(parseChatRequest({ model: 'm', messages }).request.plugins).toBeUndefined();
    expect(refusal(() => parseChatRequest({ model: 'm', messages, web_search_options: { search_context_size: 'huge' } })).param).toBe('web_search_options.search_context_size');
    expect(refusal(() => parseChatRequest({ model: 'm', messages, ondemand_plugins: ['rm -rf'] })).param).toBe('ondemand_plugins[0]');
  });

  it('responses: web_search and web_search_preview tools beside function tools', () => {
    for (const type of ['web_search', 'web_search_preview']) {
      const parsed = parseResponsesRequest({
        model: 'm',
        input: 'why tides?',
        tools: [
          { type, search_context_size: 'high' },
          { type: 'function', name: 'f', parameters: { type: 'object' } },
        ],
      });
      expect(parsed.request.plugins).toEqual({ webSearch: { mode: 'offered', contextSize: 'high' } });
      expect(parsed.request.tools?.map((t) => t.name)).toEqual(['f']);
      expect(parsed.echo.tools).toHaveLength(2);
    }
    expect(parseResponsesRequest({ model: 'm', input: 'x', tools: [{ type: 'web_search' }] }).request.tools).toBeUndefined();
    // a tool_choice naming the search requires it
    expect(parseResponsesRequest({ model: 'm', input: 'x', tools: [{ type: 'web_search' }], tool_choice: { type: 'web_search' } }).request.plugins).toEqual({
      webSearch: { mode: 'required' },
    });
    // Codex CLI offers the tool with live access off: no search at all
    for (const tool_choice of [undefined, { type: 'web_search' }]) {
      const off = parseResponsesRequest({
        model: 'm',
        input: 'x',
        tools: [{ type: 'web_search', external_web_access: false, search_content_types: ['text', 'image'] }],
        tool_choice,
      });
      expect(off.request.plugins).toBeUndefined();
    }
    expect(refusal(() => parseResponsesRequest({ model: 'm', input: 'x', tools: [{ type: 'file_search' }] })).code).toBe('unsupported_value');
    // a web search replayed from an earlier turn is skipped
    expect(
      parseResponsesRequest({
        model: 'm',
        input: [
          { type: 'web_search_call', id: 'ws_1', status: 'completed' },
          { role: 'user', content: 'x' },
        ],
      }).request.messages,
    ).toEqual([{ role: 'user', content: 'x' }]);
  });

  it('anthropic: the web search server tool', () => {
    const req = parseMessagesRequest({
      model: 'm',
      max_tokens: 100,
      messages,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3, user_location: { type: 'approximate', city: 'Lyon' } }],
      ondemand_plugins: ['plugin-7'],
    });
    expect(req.plugins).toEqual({ webSearch: { mode: 'offered', userLocation: { city: 'Lyon' } }, ids: ['plugin-7'] });
    expect(req.tools).toBeUndefined();
    expect(
      refusal(() => parseMessagesRequest({ model: 'm', max_tokens: 1, messages, tools: [{ type: 'web_search_20250305', name: 'web_search', allowed_domains: ['a.b'] }] })).code,
    ).toBe('unsupported_value');
    // a replayed search in an assistant turn is skipped like thinking
    const replay = parseMessagesRequest({
      model: 'm',
      max_tokens: 1,
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
            { type: 'text', text: 'a' },
          ],
        },
        { role: 'user', content: 'more' },
      ],
    });
    expect(replay.messages[1]).toEqual({ role: 'assistant', content: 'a' });
  });
});

describe('chat completions out', () => {
  it('annotations on the message, url_citation with exact indices', () => {
    const out = renderChatCompletion({ id: 'c', created: 1, model: 'm', text: TEXT, reasoning: '', toolCalls: [], finishReason: 'stop', usage, citations: [citation] });
    const annotations = out.choices[0].message.annotations ?? [];
    expect(annotations).toEqual([{ type: 'url_citation', url_citation: { start_index: citation.startIndex, end_index: citation.endIndex, url: citation.url, title: 'NOAA' } }]);
    const a = annotations[0]?.url_citation;
    expect(TEXT.slice(a?.start_index, a?.end_index)).toBe('[NOAA](https://noaa.gov/tides)');
    // a request without web search has no annotations field
    expect(renderChatCompletion({ id: 'c', created: 1, model: 'm', text: TEXT, reasoning: '', toolCalls: [], finishReason: 'stop', usage }).choices[0].message).not.toHaveProperty(
      'annotations',
    );
  });

  it('streamed: the annotations delta before the finish chunk, planner text nowhere', () => {
    const enc = createChatChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: false });
    let wire = '';
    for (const e of answerEvents) wire += enc.encode(e);
    wire += enc.done();
    const chunks = wire
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> });
    const deltas = chunks.map((c) => c.choices[0]?.delta ?? {});
    expect(deltas[0]).toMatchObject({ role: 'assistant' });
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(TEXT);
    const annotated = chunks.findIndex((c) => c.choices[0]?.delta.annotations !== undefined);
    expect(chunks[annotated]?.choices[0]?.delta.annotations).toEqual([
      { type: 'url_citation', url_citation: { start_index: 34, end_index: TEXT.length, url: citation.url, title: 'NOAA' } },
    ]);
    expect(chunks[annotated + 1]?.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('responses out', () => {
  const init: ResponseInit = { id: 'resp_1', createdAt: 1, model: 'm', echo: parseResponsesRequest({ model: 'm', input: 'x', tools: [{ type: 'web_search' }] }).echo };

  it('a web_search_call item with the query before the message, url_citation annotations on its text', () => {
    const out = renderResponse(init, collected) as { output: Array<Record<string, unknown>> };
    expect(out.output.map((i) => i.type)).toEqual(['web_search_call', 'message']);
    expect(out.output[0]).toMatchObject({ type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'tides cause' } });
    expect(String(out.output[0]?.id)).toMatch(/^ws_/);
    expect((out.output[1]?.content as Array<Record<string, unknown>>)[0]?.annotations).toEqual([
      { type: 'url_citation', start_index: citation.startIndex, end_index: citation.endIndex, url: citation.url, title: 'NOAA' },
    ]);
  });

  it('streamed: the web search events in order, then the message with its annotation', () => {
    const enc = createResponsesEncoder(init);
    let wire = enc.start?.() ?? '';
    for (const e of answerEvents) wire += enc.encode(e);
    wire += enc.done();
    const frames = sseFrames(wire);
    expect(frames.map((f) => f.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.web_search_call.in_progress',
      'response.web_search_call.searching',
      'response.web_search_call.completed',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.annotation.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(frames[6]?.data.item).toMatchObject({ type: 'web_search_call', status: 'completed', action: { query: 'tides cause' } });
    expect(frames[11]?.data).toMatchObject({ annotation_index: 0, output_index: 1, annotation: { type: 'url_citation', url: citation.url } });
    const completed = frames[15]?.data.response as { output: Array<Record<string, unknown>> };
    expect(completed.output.map((i) => i.type)).toEqual(['web_search_call', 'message']);
    expect(frames.map((f) => f.data.sequence_number)).toEqual(frames.map((_, i) => i));
  });
});

describe('anthropic out', () => {
  it('server_tool_use with the query, its web_search_tool_result, the text, and the search count', () => {
    const out = renderMessage({ id: 'msg_1', model: 'm' }, collected) as { content: Array<Record<string, unknown>>; usage: Record<string, unknown> };
    expect(out.content.map((b) => b.type)).toEqual(['server_tool_use', 'web_search_tool_result', 'text']);
    expect(out.content[0]).toMatchObject({ name: 'web_search', input: { query: 'tides cause' } });
    expect(out.content[1]).toMatchObject({
      tool_use_id: out.content[0]?.id,
      content: [{ type: 'web_search_result', url: citation.url, title: 'NOAA', encrypted_content: '', page_age: null }],
    });
    expect(out.usage.server_tool_use).toEqual({ web_search_requests: 1 });
  });

  it('streamed: the server_tool_use block first, the result block at the end, the count in message_delta', () => {
    const enc = createMessagesEncoder({ id: 'msg_1', model: 'm', inputTokens: 3 });
    let wire = enc.start?.() ?? '';
    for (const e of answerEvents) wire += enc.encode(e);
    wire += enc.done();
    const frames = sseFrames(wire);
    const starts = frames.filter((f) => f.event === 'content_block_start').map((f) => (f.data.content_block as { type: string }).type);
    expect(starts).toEqual(['server_tool_use', 'text', 'web_search_tool_result']);
    const json = frames.find((f) => (f.data.delta as { type?: string } | undefined)?.type === 'input_json_delta');
    expect(JSON.parse((json?.data.delta as { partial_json: string }).partial_json)).toEqual({ query: 'tides cause' });
    const delta = frames.find((f) => f.event === 'message_delta');
    expect((delta?.data.usage as Record<string, unknown>).server_tool_use).toEqual({ web_search_requests: 1 });
    expect(frames.map((f) => f.event).slice(-2)).toEqual(['message_delta', 'message_stop']);
  });
});
