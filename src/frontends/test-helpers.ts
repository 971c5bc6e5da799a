/** Shared by the front ends' tests: a whole answer written as its fields, made from events in the engine's order. */
import type { FinishReason, GatewayEvent, PluginCall, ToolCall, UrlCitation, Usage } from '../core/types.js';
import { type WholeAnswer, wholeAnswerOf } from './answer-lifecycle.js';

export interface AnswerFields {
  webSearches?: PluginCall[];
  reasoning?: string;
  text?: string;
  toolCalls?: ToolCall[];
  citations?: UrlCitation[];
  usage: Usage;
  finishReason: FinishReason;
}

/** The events the engine sends for such an answer: searches, reasoning, text, calls, citations, usage, end. */
export function engineEvents(a: AnswerFields): GatewayEvent[] {
  const events: GatewayEvent[] = (a.webSearches ?? []).map((call) => ({ type: 'plugin_call', call }));
  if (a.reasoning !== undefined) events.push({ type: 'reasoning', text: a.reasoning });
  if (a.text !== undefined) events.push({ type: 'text', text: a.text });
  if (a.toolCalls !== undefined) events.push({ type: 'tool_calls', calls: a.toolCalls });
  if (a.citations !== undefined) events.push({ type: 'citations', citations: a.citations });
  events.push({ type: 'usage', usage: a.usage }, { type: 'end', finishReason: a.finishReason });
  return events;
}

export const wholeAnswer = (a: AnswerFields): WholeAnswer => wholeAnswerOf(engineEvents(a));
