/**
 * What the engine does to an answer on its way from the upstream to the client: the answer stages, in order, each
 * adding its section to the query and its filter to the answer (tool calls emulated in text, then JSON answers
 * cleaned, then max_tokens enforced on what is left; more stages go in the list), and the collector that turns a
 * non-stream answer into one value.
 */
import type { EventFilter, WarnLog } from './events.js';
import { MaxTokensFilter } from './max-tokens.js';
import { renderFormatSection } from './structured/prompt.js';
import { StructuredAnswerFilter } from './structured/filter.js';
import { ToolCallFilter } from './tools/parser.js';
import { renderToolSection, wantsTools } from './tools/prompt.js';
import { buildQuery, type OnDemandQueryBody } from '../ondemand/query.js';
import { webSearchStage } from './plugins.js';
import type { FinishReason, GatewayEvent, GatewayRequest, PluginCall, ToolCall, UrlCitation, Usage } from './types.js';

/** One transformation of the answer, with the prompt section that asks the model for what it expects. */
export interface AnswerStage {
  /** the section this stage appends to the query for this request; undefined for none */
  section(req: GatewayRequest): string | undefined;
  /** the filter this stage runs over this request's answer; undefined when it does not apply */
  filter(req: GatewayRequest, log: WarnLog | undefined, answer: AnswerContext): EventFilter | undefined;
}

/** What a stage may ask about the answer it filters. */
export interface AnswerContext {
  /** the query's input tokens: the upstream's count once it reported one, else counted locally */
  inputTokens(): number;
}

/** Tool calls, emulated in text: docs/tools.md. */
export const toolCallStage: AnswerStage = {
  section: (req) => (wantsTools(req) ? renderToolSection(req.tools, req.toolChoice, { parallel: req.parallelToolCalls }) : undefined),
  filter: (req, log) =>
    wantsTools(req)
      ? new ToolCallFilter({
          tools: req.tools,
          idPrefix: req.toolCallIdPrefix ?? 'call_',
          onMalformed: (reason) => log?.warn({ reason }, 'the model answered with a malformed tool call; returned as text'),
          ...(req.parallelToolCalls === false ? { maxCalls: 1 } : {}),
        })
      : undefined,
};

/** JSON answers cleaned to their value, after the tool stage so tool calls win: docs/structured-output.md. */
export const structuredOutputStage: AnswerStage = {
  section: (req) => (req.responseFormat === undefined ? undefined : renderFormatSection(req.responseFormat, wantsTools(req))),
  filter: (req, log) => {
    const format = req.responseFormat;
    if (format === undefined) return undefined;
    return new StructuredAnswerFilter({
      format,
      onInvalid: (reason) => log?.warn({ reason, format: format.type }, 'the model did not answer with the JSON asked for; returned as it came'),
    });
  },
};

/**
 * max_tokens counted on what the client receives, so it comes last: held-back tool-call text and dropped JSON
 * fences do not count, delivered calls and values do (src/core/max-tokens.ts).
 */
export const maxTokensStage: AnswerStage = {
  section: () => undefined,
  filter: (req, _log, answer) => {
    const limit = req.params.maxTokens;
    if (limit === undefined) return undefined;
    return new MaxTokensFilter({ limit, countReasoning: req.reasoningInMaxTokens ?? true, inputTokens: () => answer.inputTokens() });
  },
};

/** a web search's citations point into the text the client receives, so they come after the cut */
export const ANSWER_STAGES: readonly AnswerStage[] = [toolCallStage, structuredOutputStage, maxTokensStage, webSearchStage];

export function promptSections(req: GatewayRequest, stages: readonly AnswerStage[] = ANSWER_STAGES): string[] {
  const sections: string[] = [];
  for (const stage of stages) {
    const section = stage.section(req);
    if (section !== undefined) sections.push(section);
  }
  return sections;
}

export interface QueryOptions {
  /** send max_tokens upstream as modelConfigs.maxTokens (UPSTREAM_MAX_TOKENS); by default the gateway only enforces it */
  sendMaxTokens?: boolean | undefined;
}

/** The query body the engine sends for this request (the transcript, then the stages' sections). */
export function upstreamQuery(req: GatewayRequest, endpointId: string, stages: readonly AnswerStage[] = ANSWER_STAGES, opts: QueryOptions = {}): OnDemandQueryBody {
  const sections = promptSections(req, stages);
  if (req.params.maxTokens === undefined || opts.sendMaxTokens === true) return buildQuery(req, endpointId, sections);
  const { maxTokens: _enforcedHere, ...params } = req.params;
  // only what the query is built from: a spread of the whole request with a field given again is slow in V8
  return buildQuery({ messages: req.messages, params, pluginIds: req.pluginIds }, endpointId, sections);
}

/** Every stage's filter that applies to this request, in order, as one filter; undefined when none applies. */
export function answerFilter(req: GatewayRequest, log: WarnLog | undefined, stages: readonly AnswerStage[], answer: AnswerContext): EventFilter | undefined {
  const filters: EventFilter[] = [];
  for (const stage of stages) {
    const filter = stage.filter(req, log, answer);
    if (filter !== undefined) filters.push(filter);
  }
  if (filters.length <= 1) return filters[0];
  return chain(filters);
}

/** One filter that runs each event through `filters` in order. */
function chain(filters: readonly EventFilter[]): EventFilter {
  return {
    push(event) {
      let events = [event];
      for (const filter of filters) {
        // one event, the usual case, goes through without a copy of the filter's array
        if (events.length === 1) events = filter.push(events[0] as GatewayEvent);
        else {
          const out: GatewayEvent[] = [];
          for (const e of events) for (const o of filter.push(e)) out.push(o);
          events = out;
        }
        if (events.length === 0) break;
      }
      return events;
    },
  };
}

// ---- collecting an answer from its events ------------------------------------------------------------------

/** What the events so far amount to. */
export interface CollectedEvents {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  /** null while no usage event came */
  usage: Usage | null;
  /** null until the end event: an answer without one was cut short */
  finishReason: FinishReason | null;
  pluginCalls?: PluginCall[];
  citations?: UrlCitation[];
}

/** Accumulates an answer from its events. Follows the stream encoders' rule: nothing after `end` counts but a late usage. */
export class AnswerCollector {
  private text = '';
  private reasoning = '';
  private readonly toolCalls: ToolCall[] = [];
  private usage: Usage | null = null;
  private finishReason: FinishReason | null = null;
  private pluginCalls: PluginCall[] | undefined;
  private citations: UrlCitation[] | undefined;

  add(event: GatewayEvent): void {
    if (event.type === 'usage') {
      this.usage = event.usage;
      return;
    }
    if (this.finishReason !== null) return;
    switch (event.type) {
      case 'text':
        this.text += event.text;
        return;
      case 'reasoning':
        this.reasoning += event.text;
        return;
      case 'tool_calls':
        this.toolCalls.push(...event.calls);
        return;
      case 'end':
        this.finishReason = event.finishReason;
        return;
      case 'plugin_call':
        (this.pluginCalls ??= []).push(event.call);
        return;
      case 'citations':
        this.citations = event.citations;
        return;
    }
  }

  result(): CollectedEvents {
    const out: CollectedEvents = { text: this.text, reasoning: this.reasoning, toolCalls: [...this.toolCalls], usage: this.usage, finishReason: this.finishReason };
    if (this.pluginCalls !== undefined) out.pluginCalls = [...this.pluginCalls];
    if (this.citations !== undefined) out.citations = this.citations;
    return out;
  }
}
