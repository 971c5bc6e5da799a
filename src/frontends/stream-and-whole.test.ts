/**
 * The streamed and the whole answer cannot drift: for every API and every answer, what a client assembles from
 * the stream (as its SDK accumulates the events) equals the whole answer the same events give, and a failure
 * mid-stream reads as the error a whole request gets. The few places where the two differ on purpose are pinned
 * below, each with why, so a new difference fails here.
 */
import fc from 'fast-check';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import type { CompletionHandle } from '../core/engine.js';
import { GatewayError } from '../core/errors.js';
import type { ReasoningSeal } from '../core/sealed-reasoning.js';
import type { FinishReason, GatewayEvent, PluginCall, ToolCall, UrlCitation, Usage } from '../core/types.js';
import { wholeAnswerOf } from './answer-lifecycle.js';
import { renderAnthropicError } from './anthropic/render.js';
import { messagesAnswer } from './anthropic/route.js';
import { textCompletionAnswer } from './completions/route.js';
import { renderGeminiError } from './gemini/render.js';
import { geminiAnswer } from './gemini/route.js';
import { chatAnswer } from './openai-chat/route.js';
import { parseResponsesRequest } from './responses/request.js';
import { plainFrontEnd } from './responses/stored-state.js';
import type { FrontEnd } from './spec.js';

type Json = Record<string, unknown>;

// ---- reading a stream as a client does ------------------------------------------------------------------------

/** Each SSE frame's event name (if any) and its data lines joined; comments and blank keep-alives skipped. */
function sseFrames(wire: string): Array<{ event: string | undefined; data: string }> {
  const frames: Array<{ event: string | undefined; data: string }> = [];
  for (const block of wire.split('\n\n')) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice('event: '.length);
      else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
    }
    if (data.length > 0) frames.push({ event, data: data.join('\n') });
  }
  return frames;
}

const jsonFrames = (wire: string): Json[] => sseFrames(wire).flatMap((f) => (f.data === '[DONE]' ? [] : [JSON.parse(f.data) as Json]));

/** What both OpenAI streams share: chunks with one head, a choice's finish_reason, the usage on a chunk of its own. */
function readOpenAIChunks(wire: string, onChoice: (choice: Json) => void): { failed: Json } | { head: Json; finish: unknown; usage: unknown } {
  let head: Json = {};
  let finish: unknown = null;
  let usage: unknown;
  for (const chunk of jsonFrames(wire)) {
    if (chunk.error !== undefined) return { failed: chunk };
    const { choices, usage: u, ...rest } = chunk as { choices: Json[]; usage?: unknown };
    head = rest;
    if (u !== null && u !== undefined) usage = u;
    for (const choice of choices) {
      if (choice.finish_reason !== null) finish = choice.finish_reason;
      onChoice(choice);
    }
  }
  return { head, finish, usage };
}

/**
 * openai-node's ChatCompletionStream accumulation, with `reasoning_content` and `annotations` gathered the way
 * LangChain and the AI SDK read them. The role chunk's `content: ""` is all a stream says of an answer without
 * text, so content '' and null are the same answer.
 */
function assembleChat(wire: string): unknown {
  const message: Json = { role: undefined, content: null, refusal: null };
  const calls: Json[] = [];
  const read = readOpenAIChunks(wire, (choice) => {
    const delta = choice.delta as Json;
    if (typeof delta.role === 'string') message.role = delta.role;
    if (typeof delta.content === 'string') message.content = `${(message.content as string | null) ?? ''}${delta.content}`;
    if (typeof delta.reasoning_content === 'string') message.reasoning_content = `${(message.reasoning_content as string | undefined) ?? ''}${delta.reasoning_content}`;
    if (Array.isArray(delta.annotations)) message.annotations = [...((message.annotations as unknown[] | undefined) ?? []), ...delta.annotations];
    for (const call of (delta.tool_calls as Json[] | undefined) ?? []) {
      const { index, ...fields } = call as Json & { index: number };
      const fn = fields.function as { name: string; arguments: string };
      const known = calls[index];
      if (known === undefined) calls[index] = { ...fields, function: { ...fn } };
      else (known.function as { arguments: string }).arguments += fn.arguments;
    }
  });
  if ('failed' in read) return read.failed;
  if (calls.length > 0) message.tool_calls = calls;
  if (message.content === '') message.content = null;
  return { ...read.head, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: read.finish }], usage: read.usage };
}

const chatWhole = (body: Json): Json => {
  const [choice] = body.choices as [{ message: Json }];
  // the same answer: see assembleChat
  if (choice.message.content === '') choice.message.content = null;
  if (Array.isArray(choice.message.annotations) && choice.message.annotations.length === 0) delete choice.message.annotations;
  return body;
};

/** Legacy completions have no SDK accumulator: a client joins `choices[0].text` and keeps the finish and usage. */
function assembleCompletion(wire: string): unknown {
  let text = '';
  const read = readOpenAIChunks(wire, (choice) => {
    text += choice.text as string;
  });
  if ('failed' in read) return read.failed;
  return { ...read.head, choices: [{ text, index: 0, logprobs: null, finish_reason: read.finish }], usage: read.usage };
}

/** @anthropic-ai/sdk's MessageStream accumulation; a tool's input is its streamed JSON, parsed. */
function assembleMessage(wire: string): unknown {
  let message: Json | undefined;
  const inputs: string[] = [];
  for (const { event, data } of sseFrames(wire)) {
    const e = JSON.parse(data) as Json;
    if (event === 'error') return e;
    const content = message?.content as Json[] | undefined;
    const index = e.index as number;
    if (e.type === 'message_start') message = structuredClone(e.message as Json);
    else if (e.type === 'content_block_start') content?.push({ ...(e.content_block as Json) });
    else if (e.type === 'content_block_delta') {
      const delta = e.delta as Json;
      const block = content?.[index] as Json;
      if (delta.type === 'text_delta') block.text = `${block.text as string}${delta.text as string}`;
      else if (delta.type === 'thinking_delta') block.thinking = `${block.thinking as string}${delta.thinking as string}`;
      else if (delta.type === 'input_json_delta') {
        inputs[index] = (inputs[index] ?? '') + (delta.partial_json as string);
        block.input = JSON.parse(inputs[index] as string);
      }
    } else if (e.type === 'message_delta' && message !== undefined) {
      Object.assign(message, e.delta);
      message.usage = { ...(message.usage as Json), ...(e.usage as Json) };
    }
  }
  return message;
}

/**
 * A search's result goes right after the search: a whole message puts it there, a stream can only send the last
 * one at the end, when the cited sources are known. A client finds a result by its tool_use_id either way.
 */
function resultsAfterTheirSearch(message: Json): Json {
  const content = message.content as Json[];
  const results = content.filter((b) => b.type === 'web_search_tool_result');
  const out: Json[] = [];
  for (const block of content) {
    if (block.type === 'web_search_tool_result') continue;
    out.push(block);
    if (block.type === 'server_tool_use') out.push(...results.filter((r) => r.tool_use_id === block.id));
  }
  return { ...message, content: out };
}

/** openai-node's own Responses accumulator (ResponseStream); a failure reads as its `error` event. */
function assembleResponse(wire: string): unknown {
  let response: Response | undefined;
  for (const { data } of sseFrames(wire)) {
    const event = JSON.parse(data) as ResponseStreamEvent;
    if (event.type === 'error') return { error: { code: event.code, message: event.message, param: event.param } };
    response = accumulateResponse(event, response);
  }
  // the SDK's convenience field, not part of the API's response
  const { output_text: _outputText, ...rest } = response as Response & Json;
  return rest;
}

/**
 * @google/genai hands over each chunk; a client (Gemini CLI) joins the thought text, the text and the calls, and
 * reads the finish, the grounding and the usage from the last chunk. Gemini has no blocks: the kinds go in the
 * order of a whole answer.
 */
function assembleGemini(wire: string): unknown {
  let last: Json = {};
  let thought = '';
  let text = '';
  const calls: Json[] = [];
  for (const chunk of jsonFrames(wire)) {
    if (chunk.error !== undefined) return chunk;
    last = chunk;
    const [candidate] = chunk.candidates as [{ content: { parts: Json[] } }];
    for (const part of candidate.content.parts) {
      if (part.functionCall !== undefined) calls.push(part);
      else if (part.thought === true) thought += part.text as string;
      else text += part.text as string;
    }
  }
  const [candidate] = last.candidates as [Json];
  const parts = [...(thought === '' ? [] : [{ text: thought, thought: true }]), ...(text !== '' || calls.length === 0 ? [{ text }] : []), ...calls];
  return { ...last, candidates: [{ ...candidate, content: { parts, role: 'model' } }] };
}

// ---- the APIs -------------------------------------------------------------------------------------------------

interface Api {
  name: string;
  answer: FrontEnd;
  assemble(wire: string): unknown;
  /** the whole answer as it compares with an assembled stream */
  whole?(body: Json): Json;
  /** the body a whole request's failure gets, in the words the stream's failure reaches the client in */
  errorBody(err: GatewayError): unknown;
}

const fakeSeal = { seal: (text: string) => `sealed(${text})` } as unknown as ReasoningSeal;
const responsesInit = (body: Json, seal?: ReasoningSeal) => ({ id: 'resp_1', createdAt: 1_700_000_000, model: 'gpt-4o', echo: parseResponsesRequest(body).echo, seal });
const openAIError = (err: GatewayError): unknown => err.toOpenAI();
const responsesError = (err: GatewayError): unknown => {
  const { code, message, param } = err.toOpenAI().error;
  return { error: { code, message, param } };
};

const apis = (): Api[] => [
  {
    name: 'chat',
    answer: chatAnswer({ id: 'chatcmpl-1', created: 1_700_000_000, model: 'gpt-4o', includeUsage: true }),
    assemble: assembleChat,
    whole: chatWhole,
    errorBody: openAIError,
  },
  {
    name: 'completions',
    answer: textCompletionAnswer({ id: 'cmpl-1', created: 1_700_000_000, model: 'm', echoPrompt: 'Say: ' }, true),
    assemble: assembleCompletion,
    errorBody: openAIError,
  },
  {
    name: 'anthropic',
    answer: messagesAnswer({ id: 'msg_1', model: 'claude' }, () => 3),
    assemble: (wire) => {
      const message = assembleMessage(wire) as Json;
      return message.type === 'error' ? message : resultsAfterTheirSearch(message);
    },
    whole: resultsAfterTheirSearch,
    errorBody: renderAnthropicError,
  },
  { name: 'responses', answer: plainFrontEnd(responsesInit({ model: 'gpt-4o', input: 'x' })), assemble: assembleResponse, errorBody: responsesError },
  {
    name: 'responses, reasoning as a sealed summary',
    answer: plainFrontEnd(responsesInit({ model: 'gpt-4o', input: 'x', reasoning: { summary: 'auto' }, include: ['reasoning.encrypted_content'] }, fakeSeal)),
    assemble: assembleResponse,
    errorBody: responsesError,
  },
  { name: 'gemini', answer: geminiAnswer({ responseId: 'r1', includeThoughts: true }, false), assemble: assembleGemini, errorBody: renderGeminiError },
  { name: 'gemini, thoughts left out', answer: geminiAnswer({ responseId: 'r1', includeThoughts: false }, false), assemble: assembleGemini, errorBody: renderGeminiError },
];

const handle = { model: 'gemini-2.5-flash' } as CompletionHandle;

function streamed(api: Api, events: readonly GatewayEvent[], failure?: GatewayError): unknown {
  const encoder = api.answer.streamEncoder(handle);
  let wire = encoder.start?.() ?? '';
  for (const event of events) wire += encoder.encode(event) as string;
  wire += failure === undefined ? encoder.done() : encoder.error(failure);
  return sameIds(api.assemble(wire));
}

/** `undo`: a known difference undone (KNOWN_DIFFERENCES) */
function whole(api: Api, events: readonly GatewayEvent[], undo: (body: Json) => Json = (body) => body): unknown {
  const body = JSON.parse(JSON.stringify(api.answer.render(wholeAnswerOf(events), handle))) as Json;
  return sameIds(undo(api.whole?.(body) ?? body));
}

/** Item and block ids are random per answer: each becomes its kind and the order it first appears in. */
function sameIds(value: unknown): unknown {
  const seen = new Map<string, string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const id = /^(msg|rs|ws|fc|ctc|lsh|tsc|srvtoolu)_[0-9a-f]{24,}$/.exec(v);
      if (id === null) return v;
      if (!seen.has(v)) seen.set(v, `${id[1]}_#${seen.size}`);
      return seen.get(v);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

// ---- answers, as the engine sends them ------------------------------------------------------------------------

const usage: Usage = { inputTokens: 11, outputTokens: 23, totalTokens: 34, estimated: false };
const TEXT = 'Tides come from the Moon. Source: [NOAA](https://noaa.gov/tides) and [NASA](https://nasa.gov/moon)';
const citation = (title: string, url: string): UrlCitation => ({ url, title, startIndex: TEXT.indexOf(`[${title}]`), endIndex: TEXT.indexOf(')', TEXT.indexOf(`[${title}]`)) + 1 });
const citations = [citation('NOAA', 'https://noaa.gov/tides'), citation('NASA', 'https://nasa.gov/moon')];
const search = (query?: string): GatewayEvent => ({ type: 'plugin_call', call: { pluginId: 'plugin-search', name: 'fetchInternetData', query, webSearch: true } });
const call = (n: number, args = `{"n":${n}}`): ToolCall => ({ id: `call_${n}`, name: 'get_weather', arguments: args });
const text = (t: string): GatewayEvent => ({ type: 'text', text: t });
const reasoning = (t: string): GatewayEvent => ({ type: 'reasoning', text: t });
const calls = (...list: ToolCall[]): GatewayEvent => ({ type: 'tool_calls', calls: list });
const end = (finishReason: FinishReason): GatewayEvent[] => [
  { type: 'usage', usage },
  { type: 'end', finishReason },
];
const cited = (list: UrlCitation[]): GatewayEvent => ({ type: 'citations', citations: list });

const ANSWERS: Array<[string, GatewayEvent[]]> = [
  ['text in pieces', [text('Hel'), text('lo, '), text('wörld 😀\n"quoted"'), ...end('stop')]],
  ['an empty answer', [...end('stop')]],
  ['reasoning, then text', [reasoning('Think'), reasoning('ing.'), text('Done.'), ...end('stop')]],
  ['reasoning only', [reasoning('Nothing to say.'), ...end('stop')]],
  ['a tool call', [calls(call(1)), ...end('tool_calls')]],
  ['text, then parallel tool calls', [text('Checking both.'), calls(call(1), call(2), call(3, '{}')), ...end('tool_calls')]],
  ['reasoning, then a tool call', [reasoning('Look first.'), calls(call(1)), ...end('tool_calls')]],
  ['tool calls in two events', [calls(call(1)), calls(call(2)), ...end('tool_calls')]],
  ['cut at max_tokens', [reasoning('Hm.'), text('A long'), ...end('length')]],
  ['refused', [text('I can'), ...end('content_filter')]],
  ['a web search with citations', [search('tides cause'), text(TEXT.slice(0, 30)), text(TEXT.slice(30)), cited(citations), ...end('stop')]],
  ['two web searches, reasoning, citations', [search('tides'), search(), reasoning('Two sources.'), text(TEXT), cited(citations), ...end('stop')]],
  ['a web search, text, then a tool call', [search('tides'), text(TEXT), calls(call(1)), cited(citations), ...end('tool_calls')]],
  ['a web search that cites nothing', [search('tides'), text('No links here.'), cited([]), ...end('stop')]],
  ['a plugin that is not a web search', [{ type: 'plugin_call', call: { pluginId: 'plugin-x', name: 'x', query: undefined, webSearch: false } }, text('Hi'), ...end('stop')]],
  ['text after reasoning after text (an order the engine does not send today)', [text('a'), reasoning('r'), text('b'), ...end('stop')]],
];

const FAILURES: Array<[string, GatewayEvent[]]> = [
  ['before anything', []],
  ['mid-text', [reasoning('Hm.'), text('Half an ans')]],
  ['during a web search', [search('tides')]],
  ['after tool calls, before the end', [calls(call(1))]],
];

/**
 * Where the whole answer says more than the stream, on purpose or until a fix changes the bytes; each undoes its
 * difference on the whole answer, only where it applies.
 */
const KNOWN_DIFFERENCES: Record<string, { apis: string[]; answers: string[]; undo(whole: Json): Json }> = {
  // the stream opens a block only for a delta; the whole message always has a text block
  'Anthropic: an empty text block when there is neither text nor a tool call': {
    apis: ['anthropic'],
    answers: ['an empty answer', 'reasoning only'],
    undo: (body) => ({ ...body, content: (body.content as Json[]).filter((b) => !(b.type === 'text' && b.text === '')) }),
  },
  // the stream adds the empty message only when nothing but web searches came
  'Responses: an empty message beside reasoning': {
    apis: ['responses', 'responses, reasoning as a sealed summary'],
    answers: ['reasoning only'],
    undo: (body) => {
      const output = body.output as Json[];
      if (!output.some((item) => item.type === 'reasoning')) return body;
      return { ...body, output: output.filter((item) => !(item.type === 'message' && JSON.stringify(item.content).includes('"text":""'))) };
    },
  },
  // the stream closed the message at the calls, before the citations came; the whole message keeps them
  'Responses: citations on a message the tool calls came after': {
    apis: ['responses', 'responses, reasoning as a sealed summary'],
    answers: ['a web search, text, then a tool call'],
    undo: (body) => {
      const output = body.output as Json[];
      const message = output.findLastIndex((item) => item.type === 'message');
      if (message === -1 || !output.slice(message).some((item) => item.type === 'function_call')) return body;
      const item = output[message] as { content: Json[] };
      return { ...body, output: output.with(message, { ...item, content: item.content.map((part) => ({ ...part, annotations: [] })) }) };
    },
  },
};

const differenceFor = (api: string, answer: string) => Object.entries(KNOWN_DIFFERENCES).find(([, d]) => d.apis.includes(api) && d.answers.includes(answer));

describe.each(apis().map((api) => [api.name, api] as const))('%s: the whole answer is the assembled stream', (_name, api) => {
  it.each(ANSWERS)('%s', (answer, events) => {
    const difference = differenceFor(api.name, answer);
    if (difference === undefined) {
      expect(streamed(api, events)).toEqual(whole(api, events));
      return;
    }
    const [, { undo }] = difference;
    expect(streamed(api, events)).not.toEqual(whole(api, events));
    expect(streamed(api, events)).toEqual(whole(api, events, undo));
  });

  it.each(FAILURES)('a failure %s reads as the error a whole request gets', (_failure, events) => {
    const err = new GatewayError('The upstream broke off.', { status: 502, type: 'api_error', code: 'upstream_error' });
    expect(streamed(api, events, err)).toEqual(api.errorBody(err));
  });
});

// ---- any answer in the engine's order -------------------------------------------------------------------------

/**
 * Answers in the order the engine sends them: web searches (and other plugins), reasoning, text, tool calls (then
 * the end says so; max_tokens drops calls that do not fit rather than cut after them), the citations of a web
 * search, usage, the end.
 */
const engineAnswer: fc.Arbitrary<GatewayEvent[]> = fc
  .record({
    searches: fc.array(fc.option(fc.constantFrom('tides', 'moon'), { nil: undefined }), { maxLength: 2 }),
    otherPlugin: fc.boolean(),
    reasoning: fc.array(fc.constantFrom('Hm', '. ', 'ü\n'), { maxLength: 3 }),
    text: fc.array(fc.constantFrom('Hi', ' there', '\n"x"', TEXT), { maxLength: 4 }),
    calls: fc.array(fc.array(fc.constantFrom(call(1), call(2), call(3, '{}')), { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
    finish: fc.constantFrom<FinishReason>('stop', 'length', 'content_filter'),
  })
  .map(({ searches, otherPlugin, reasoning: thinking, text: pieces, calls: callEvents, finish }) => {
    const events: GatewayEvent[] = searches.map((q) => search(q));
    if (otherPlugin) events.push({ type: 'plugin_call', call: { pluginId: 'plugin-x', name: 'x', query: undefined, webSearch: false } satisfies PluginCall });
    events.push(...thinking.map(reasoning), ...pieces.map(text), ...callEvents.map((list) => calls(...list)));
    if (searches.length > 0) events.push(cited(pieces.join('') === TEXT ? citations : []));
    return [...events, ...end(callEvents.length > 0 ? 'tool_calls' : finish)];
  });

describe.each(apis().map((api) => [api.name, api] as const))('%s: any answer in the engine order', (_name, api) => {
  it('assembles from the stream into the whole answer, but for the known differences', () => {
    const undoAll = (body: Json): Json => Object.values(KNOWN_DIFFERENCES).reduce((b, d) => (d.apis.includes(api.name) ? d.undo(b) : b), body);
    fc.assert(
      fc.property(engineAnswer, (events) => {
        expect(streamed(api, events)).toEqual(whole(api, events, undoAll));
      }),
      { numRuns: 150 },
    );
  });
});
