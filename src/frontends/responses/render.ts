/**
 * Responses API out: the `response` object (non-stream, and inside response.created / response.completed), and
 * the stream encoder with the event sequence the openai SDK's `responses.stream()` accumulates:
 *
 *   response.created, response.in_progress,
 *   per output item, in order:
 *     reasoning:     output_item.added, content_part.added (reasoning_text), reasoning_text.delta…,
 *                    reasoning_text.done, content_part.done, output_item.done; with `reasoning.summary` asked
 *                    for, the thinking is the summary instead: reasoning_summary_part.added,
 *                    reasoning_summary_text.delta…, reasoning_summary_text.done, reasoning_summary_part.done;
 *                    with `include: ["reasoning.encrypted_content"]`, the done item carries it sealed
 *     message:       output_item.added, content_part.added (output_text), output_text.delta…,
 *                    output_text.done, content_part.done, output_item.done
 *     function_call: output_item.added, function_call_arguments.delta, function_call_arguments.done,
 *                    output_item.done (`namespace` set for a tool of a namespace)
 *     custom_tool_call: output_item.added, custom_tool_call_input.delta, custom_tool_call_input.done,
 *                    output_item.done
 *     local_shell_call, tool_search_call: output_item.added, output_item.done
 *     web_search_call (a web search OnDemand ran): output_item.added, web_search_call.in_progress,
 *                    web_search_call.searching, then, once the answer goes on, web_search_call.completed and
 *                    output_item.done, its `action.query` the search the plugin ran
 *   a web search's cited URLs: output_text.annotation.added per URL, before the message's output_text.done;
 *   response.completed (response.incomplete when the answer hit max_output_tokens) with usage.
 *
 * Every event carries `sequence_number` (0, 1, 2, …). There is no `[DONE]`. A failure after the stream started
 * is an `error` event followed by `response.failed`, as the API sends them.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { ReasoningSeal } from '../../core/sealed-reasoning.js';
import type { FinishReason, PluginCall, ResponseFormat, ToolCall, UrlCitation, Usage } from '../../core/types.js';
import { AnswerLifecycle, type WholeAnswer } from '../answer-lifecycle.js';
import type { StreamEncoder } from '../spec.js';
import { sseEvent } from '../sse.js';
import type { ParsedResponsesRequest } from './request.js';
import { callItemPrefix, toolCallItem } from './tools.js';

const hex = (bytes: number): string => randomToken(bytes, 'hex');
export const newResponseId = (): string => `resp_${hex(24)}`;

export interface ResponseInit {
  id: string;
  createdAt: number;
  model: string;
  echo: ParsedResponsesRequest['echo'];
  /** seals the reasoning items' encrypted_content; set when the client's `include` asks for it */
  seal?: ReasoningSeal | undefined;
  /** the stream encoder hands over the finished response object (completed or incomplete) here */
  onFinal?: ((response: Json) => void) | undefined;
}

type Json = Record<string, unknown>;

export function toResponsesUsage(usage: Usage | null): Json | null {
  if (usage === null) return null;
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.totalTokens,
  };
}

/** `text.format` as the API echoes it: the format the client asked for, `text` when none. */
export function textFormat(format: ResponseFormat | null): Json {
  if (format === null) return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json_object' };
  const out: Json = { type: 'json_schema', name: format.name };
  if (format.description !== undefined) out.description = format.description;
  if (format.schema !== undefined) out.schema = format.schema;
  out.strict = format.strict ?? false;
  return out;
}

type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';

function incompleteDetails(finish: FinishReason | null): Json | null {
  if (finish === 'length') return { reason: 'max_output_tokens' };
  if (finish === 'content_filter') return { reason: 'content_filter' };
  return null;
}

export function responseObject(init: ResponseInit, status: Status, output: Json[], usage: Usage | null, extra: { finish?: FinishReason; error?: Json } = {}): Json {
  const e = init.echo;
  const out: Json = {
    id: init.id,
    object: 'response',
    created_at: init.createdAt,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: status === 'incomplete' ? incompleteDetails(extra.finish ?? null) : null,
    instructions: e.instructions,
    max_output_tokens: e.maxOutputTokens,
    model: init.model,
    output,
    parallel_tool_calls: e.parallelToolCalls,
    previous_response_id: e.previousResponseId,
    reasoning: { effort: e.reasoningEffort, summary: e.reasoningSummary },
    store: e.store,
    temperature: e.temperature,
    text: { format: textFormat(e.format) },
    tool_choice: e.toolChoice,
    tools: e.tools,
    top_p: e.topP,
    truncation: 'disabled',
    usage: toResponsesUsage(usage),
    metadata: e.metadata,
  };
  if (e.conversationId !== null) out.conversation = { id: e.conversationId };
  return out;
}

const statusOf = (finish: FinishReason): Status => (finish === 'length' || finish === 'content_filter' ? 'incomplete' : 'completed');

/** How reasoning items look for this request: the thinking as summary or as content, sealed or not. */
interface ReasoningView {
  summary: boolean;
  seal: ReasoningSeal | undefined;
}

const reasoningView = (init: ResponseInit): ReasoningView => ({ summary: init.echo.reasoningSummary !== null, seal: init.seal });

function reasoningItem(id: string, text: string, status: 'in_progress' | 'completed', view: ReasoningView): Json {
  const done = status === 'completed';
  const item: Json = { id, type: 'reasoning', summary: view.summary && done ? [{ type: 'summary_text', text }] : [] };
  if (!view.summary) item.content = done ? [{ type: 'reasoning_text', text }] : [];
  if (view.seal !== undefined && done) item.encrypted_content = view.seal.seal(text);
  item.status = status;
  return item;
}

const textPart = (text: string, annotations: Json[] = []): Json => ({ type: 'output_text', annotations, logprobs: [], text });

const messageItem = (id: string, text: string | null, status: 'in_progress' | 'completed' | 'incomplete', annotations: Json[] = []): Json => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: text === null ? [] : [textPart(text, annotations)],
});

export const urlCitation = (c: UrlCitation): Json => ({ type: 'url_citation', start_index: c.startIndex, end_index: c.endIndex, url: c.url, title: c.title });

const webSearchItem = (id: string, call: PluginCall, status: 'in_progress' | 'completed'): Json => ({
  id,
  type: 'web_search_call',
  status,
  action: { type: 'search', query: call.query ?? '' },
});

/**
 * The output items of a finished answer: its parts in the order the stream writes them (the web searches OnDemand
 * ran, reasoning, the message, calls), and an empty message when there is neither text nor a call.
 */
export function outputItems(init: ResponseInit, answer: Pick<WholeAnswer, 'parts' | 'toolCalls' | 'finishReason' | 'citations'>): Json[] {
  const view = reasoningView(init);
  // as in a stream, only a message the end closes is cut short
  const lastStatus = answer.finishReason === 'length' ? 'incomplete' : 'completed';
  const last = answer.parts.length - 1;
  // the citations index the text, so they go on its (last) message, even where a stream had closed it before they came
  const cited = answer.parts.findLastIndex((part) => part.kind === 'text');
  const items = answer.parts.map((part, i): Json => {
    switch (part.kind) {
      case 'web_search':
        return webSearchItem(`ws_${hex(24)}`, part.call, 'completed');
      case 'reasoning':
        return reasoningItem(`rs_${hex(24)}`, part.text, 'completed', view);
      case 'text':
        return messageItem(`msg_${hex(24)}`, part.text, i === last ? lastStatus : 'completed', i === cited ? (answer.citations ?? []).map(urlCitation) : []);
      case 'tool_call': {
        const kind = init.echo.toolKinds.get(part.call.name);
        return toolCallItem(`${callItemPrefix(kind)}${hex(24)}`, part.call, kind, 'completed');
      }
    }
  });
  if (cited === -1 && answer.toolCalls.length === 0) items.push(messageItem(`msg_${hex(24)}`, '', lastStatus, (answer.citations ?? []).map(urlCitation)));
  return items;
}

export function renderResponse(init: ResponseInit, answer: Pick<WholeAnswer, 'parts' | 'toolCalls' | 'finishReason' | 'citations' | 'usage'>): Json {
  return responseObject(init, statusOf(answer.finishReason), outputItems(init, answer), answer.usage, { finish: answer.finishReason });
}

type Open =
  | { kind: 'reasoning' | 'message'; id: string; index: number; text: string; annotations: Json[] }
  | { kind: 'web_search'; id: string; index: number; call: PluginCall }
  | null;

export function createResponsesEncoder(init: ResponseInit): StreamEncoder {
  let seq = 0;
  const output: Json[] = [];
  /** the open item, with its text so far: its done events repeat the whole text */
  let open: Open = null;
  const view = reasoningView(init);

  const ev = (type: string, fields: Json): string => sseEvent(type, JSON.stringify({ type, sequence_number: seq++, ...fields }));

  function close(messageStatus: 'completed' | 'incomplete' = 'completed'): string {
    if (open === null) return '';
    if (open.kind === 'web_search') {
      const { id, index, call } = open;
      open = null;
      const item = webSearchItem(id, call, 'completed');
      output[index] = item;
      return ev('response.web_search_call.completed', { item_id: id, output_index: index }) + ev('response.output_item.done', { output_index: index, item });
    }
    const { kind, id, index, text, annotations } = open;
    open = null;
    const at = { item_id: id, output_index: index, content_index: 0 };
    if (kind === 'reasoning') {
      const item = reasoningItem(id, text, 'completed', view);
      output[index] = item;
      const parts = view.summary
        ? ev('response.reasoning_summary_text.done', { item_id: id, output_index: index, summary_index: 0, text }) +
          ev('response.reasoning_summary_part.done', { item_id: id, output_index: index, summary_index: 0, part: { type: 'summary_text', text } })
        : ev('response.reasoning_text.done', { ...at, text }) + ev('response.content_part.done', { ...at, part: { type: 'reasoning_text', text } });
      return parts + ev('response.output_item.done', { output_index: index, item });
    }
    const item = messageItem(id, text, messageStatus, annotations);
    output[index] = item;
    return (
      ev('response.output_text.done', { ...at, text, logprobs: [] }) +
      ev('response.content_part.done', { ...at, part: textPart(text, annotations) }) +
      ev('response.output_item.done', { output_index: index, item })
    );
  }

  function openItem(kind: 'reasoning' | 'message'): string {
    const index = output.length;
    const id = kind === 'reasoning' ? `rs_${hex(24)}` : `msg_${hex(24)}`;
    const item = kind === 'reasoning' ? reasoningItem(id, '', 'in_progress', view) : messageItem(id, null, 'in_progress');
    output.push(item);
    open = { kind, id, index, text: '', annotations: [] };
    const added = ev('response.output_item.added', { output_index: index, item });
    if (kind === 'reasoning' && view.summary) {
      return added + ev('response.reasoning_summary_part.added', { item_id: id, output_index: index, summary_index: 0, part: { type: 'summary_text', text: '' } });
    }
    const part = kind === 'reasoning' ? { type: 'reasoning_text', text: '' } : textPart('');
    return added + ev('response.content_part.added', { item_id: id, output_index: index, content_index: 0, part });
  }

  function delta(kind: 'reasoning' | 'message', text: string): string {
    const o = open as Extract<Open, { kind: 'reasoning' | 'message' }>;
    o.text += text;
    if (kind === 'reasoning' && view.summary) return ev('response.reasoning_summary_text.delta', { item_id: o.id, output_index: o.index, summary_index: 0, delta: text });
    const at = { item_id: o.id, output_index: o.index, content_index: 0, delta: text };
    return kind === 'reasoning' ? ev('response.reasoning_text.delta', at) : ev('response.output_text.delta', { ...at, logprobs: [] });
  }

  /** A web search stays open (searching) until the answer goes on: OnDemand runs it between its plan and the answer. */
  function webSearch(call: PluginCall): string {
    const index = output.length;
    const id = `ws_${hex(24)}`;
    const item = webSearchItem(id, call, 'in_progress');
    output.push(item);
    open = { kind: 'web_search', id, index, call };
    const at = { item_id: id, output_index: index };
    return ev('response.output_item.added', { output_index: index, item }) + ev('response.web_search_call.in_progress', at) + ev('response.web_search_call.searching', at);
  }

  /** The cited URLs, on the open message (the text they index). */
  function annotate(citations: readonly UrlCitation[]): string {
    if (open?.kind !== 'message') return '';
    const o = open;
    let out = '';
    for (const c of citations) {
      const annotation = urlCitation(c);
      out += ev('response.output_text.annotation.added', { item_id: o.id, output_index: o.index, content_index: 0, annotation_index: o.annotations.length, annotation });
      o.annotations.push(annotation);
    }
    return out;
  }

  function calls(list: readonly ToolCall[]): string {
    let out = '';
    for (const call of list) {
      const index = output.length;
      const kind = init.echo.toolKinds.get(call.name);
      const id = `${callItemPrefix(kind)}${hex(24)}`;
      const item = toolCallItem(id, call, kind, 'completed');
      output.push(item);
      const at = { item_id: id, output_index: index };
      out += ev('response.output_item.added', { output_index: index, item: toolCallItem(id, call, kind, 'in_progress') });
      if (item.type === 'function_call') {
        out +=
          ev('response.function_call_arguments.delta', { ...at, delta: call.arguments }) +
          ev('response.function_call_arguments.done', { ...at, name: item.name, arguments: call.arguments });
      } else if (item.type === 'custom_tool_call') {
        out += ev('response.custom_tool_call_input.delta', { ...at, delta: call.arguments }) + ev('response.custom_tool_call_input.done', { ...at, input: call.arguments });
      }
      out += ev('response.output_item.done', { output_index: index, item });
    }
    return out;
  }

  return new AnswerLifecycle(
    {
      start() {
        const response = responseObject(init, 'in_progress', [], null);
        return ev('response.created', { response }) + ev('response.in_progress', { response });
      },
      open: (part) => openItem(part === 'text' ? 'message' : 'reasoning'),
      reasoning: (text) => delta('reasoning', text),
      text: (text) => delta('message', text),
      close: (_part, finish) => close(finish === 'length' ? 'incomplete' : 'completed'),
      toolCalls: calls,
      webSearch,
      citations: annotate,
      finish(reason, { usage }) {
        // an answer with nothing in it still has its (empty) message
        const status = statusOf(reason);
        const out = output.every((item) => item.type === 'web_search_call') ? openItem('message') + close(reason === 'length' ? 'incomplete' : 'completed') : '';
        const response = responseObject(init, status, output, usage, { finish: reason });
        init.onFinal?.(response);
        return out + ev(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
      },
      fail(err, { usage }) {
        // a search cut short by the failure is reported as failed, not as still running
        if (open?.kind === 'web_search') output[open.index] = { ...webSearchItem(open.id, open.call, 'completed'), status: 'failed' };
        const response = responseObject(init, 'failed', output, usage, { error: { code: err.code ?? 'server_error', message: err.message } });
        return ev('error', { code: err.code, message: err.message, param: err.param }) + ev('response.failed', { response });
      },
    },
    'responses encoder',
  );
}
