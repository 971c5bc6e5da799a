/**
 * Gemini API out: the GenerateContentResponse, the stream encoder, and the error shape.
 *
 * A whole answer is one response whose `candidates[0].content.parts` are, in order: the thoughts (`thought: true`,
 * only when thinkingConfig.includeThoughts asked), the text, the function calls (`functionCall {id, name, args}`).
 * A stream (`alt=sse`) is `data:` frames of the same response, one per delta, and a last frame with an empty text
 * part, the finishReason and the usageMetadata; no `event:` lines and no `[DONE]`, as Google sends it.
 * `finishReason`: STOP (also after function calls: Gemini has no other reason for them), MAX_TOKENS, SAFETY.
 * `usageMetadata.thoughtsTokenCount` is the delivered reasoning counted locally, taken out of OnDemand's output
 * count (which includes reasoning), so the total is OnDemand's. A web search OnDemand ran is `groundingMetadata`:
 * its queries, the cited pages as chunks, and each citation as a support whose segment is in UTF-8 bytes.
 * Errors: `{"error":{"code","message","status"}}` (a RetryInfo detail with the wait when there is one), as the
 * HTTP body or, after the stream started, as a last `data:` frame.
 */
import { randomToken } from '../../runtime/random-id.js';
import type { GatewayError } from '../../core/errors.js';
import { countTokens } from '../../core/tokens.js';
import type { FinishReason, PluginCall, ToolCall, UrlCitation, Usage } from '../../core/types.js';
import { AnswerLifecycle, type WholeAnswer } from '../answer-lifecycle.js';
import type { StreamEncoder } from '../spec.js';
import { sseData } from '../sse.js';
import type { Json } from '../validate.js';

export const newResponseId = (): string => randomToken(12, 'base64url');

export interface GeminiAnswerInit {
  responseId: string;
  /** the model that answered */
  modelVersion: string;
  /** thought parts go back to the client */
  includeThoughts: boolean;
}

export type GeminiFinishReason = 'STOP' | 'MAX_TOKENS' | 'SAFETY';

export function toFinishReason(finish: FinishReason): GeminiFinishReason {
  if (finish === 'length') return 'MAX_TOKENS';
  if (finish === 'content_filter') return 'SAFETY';
  return 'STOP';
}

export function toUsageMetadata(usage: Usage, reasoning: string): Json {
  const thoughts = reasoning === '' ? 0 : Math.min(countTokens(reasoning), usage.outputTokens);
  const out: Json = { promptTokenCount: usage.inputTokens, candidatesTokenCount: usage.outputTokens - thoughts, totalTokenCount: usage.totalTokens };
  if (thoughts > 0) out.thoughtsTokenCount = thoughts;
  return out;
}

export function functionCallPart(call: ToolCall): Json {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments === '' ? '{}' : call.arguments);
  } catch {
    args = {};
  }
  return { functionCall: { id: call.id, name: call.name, args } };
}

const utf8Offset = (text: string, index: number): number => Buffer.byteLength(text.slice(0, index), 'utf8');

/** The web search's queries, pages and supports; undefined for a request without one. */
export function groundingMetadata(text: string, calls: readonly PluginCall[] | undefined, citations: readonly UrlCitation[] | undefined): Json | undefined {
  const searches = (calls ?? []).filter((c) => c.webSearch);
  if (searches.length === 0 && citations === undefined) return undefined;
  const chunks: Json[] = [];
  const chunkOf = new Map<string, number>();
  const supports = (citations ?? []).map((c) => {
    if (!chunkOf.has(c.url)) {
      chunkOf.set(c.url, chunks.length);
      chunks.push({ web: { uri: c.url, title: c.title } });
    }
    const segment = { startIndex: utf8Offset(text, c.startIndex), endIndex: utf8Offset(text, c.endIndex), text: text.slice(c.startIndex, c.endIndex) };
    return { segment, groundingChunkIndices: [chunkOf.get(c.url)] };
  });
  const queries = searches.map((c) => c.query).filter((q): q is string => q !== undefined);
  return { webSearchQueries: queries, groundingChunks: chunks, groundingSupports: supports };
}

function candidate(parts: Json[], finish: FinishReason, grounding: Json | undefined): Json {
  const out: Json = { content: { parts, role: 'model' }, finishReason: toFinishReason(finish), index: 0 };
  if (grounding !== undefined) out.groundingMetadata = grounding;
  return out;
}

export function renderGenerateContent(
  init: GeminiAnswerInit,
  answer: Pick<WholeAnswer, 'text' | 'reasoning' | 'toolCalls' | 'webSearches' | 'citations' | 'finishReason' | 'usage'>,
): Json {
  const parts: Json[] = [];
  if (init.includeThoughts && answer.reasoning !== '') parts.push({ text: answer.reasoning, thought: true });
  if (answer.text !== '' || answer.toolCalls.length === 0) parts.push({ text: answer.text });
  for (const call of answer.toolCalls) parts.push(functionCallPart(call));
  return {
    candidates: [candidate(parts, answer.finishReason, groundingMetadata(answer.text, answer.webSearches, answer.citations))],
    usageMetadata: toUsageMetadata(answer.usage, answer.reasoning),
    modelVersion: init.modelVersion,
    responseId: init.responseId,
  };
}

// ---- errors -------------------------------------------------------------------------------------------------

/** google.rpc status names by HTTP status, as Google's APIs pair them. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  422: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
  529: 'UNAVAILABLE',
};

export function renderGeminiError(err: GatewayError): Json {
  // the HTTP layer answers a 499 (client closed) as 400
  const code = err.status === 499 ? 400 : err.status;
  const error: Json = { code, message: err.message, status: STATUS_NAMES[err.status] ?? (err.status < 500 ? 'FAILED_PRECONDITION' : 'INTERNAL') };
  if (err.retryAfterSec !== undefined) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.max(1, Math.ceil(err.retryAfterSec))}s` }];
  }
  return { error };
}

// ---- the stream ---------------------------------------------------------------------------------------------

export function createGeminiEncoder(init: GeminiAnswerInit): StreamEncoder {
  const tail = `,"modelVersion":${JSON.stringify(init.modelVersion)},"responseId":${JSON.stringify(init.responseId)}}`;
  const frame = (parts: Json[]): string => `data: {"candidates":[{"content":${JSON.stringify({ parts, role: 'model' })},"index":0}]${tail}\n\n`;
  // the last frame's grounding indexes the whole text, and its usage counts the whole reasoning
  let text = '';
  let reasoning = '';
  const searches: PluginCall[] = [];
  return new AnswerLifecycle(
    {
      text(delta) {
        text += delta;
        return frame([{ text: delta }]);
      },
      reasoning(delta) {
        reasoning += delta;
        return init.includeThoughts ? frame([{ text: delta, thought: true }]) : '';
      },
      toolCalls: (calls) => frame(calls.map(functionCallPart)),
      webSearch(call) {
        searches.push(call);
        return '';
      },
      // the finish goes out with the usage in the last frame: a late usage still makes it
      finish: () => '',
      done({ usage, finishReason, citations }) {
        const last: Json = { candidates: [candidate([{ text: '' }], finishReason ?? 'stop', groundingMetadata(text, searches, citations))] };
        if (usage !== null) last.usageMetadata = toUsageMetadata(usage, reasoning);
        return `data: ${JSON.stringify(last).slice(0, -1)}${tail}\n\n`;
      },
      fail: (err) => sseData(JSON.stringify(renderGeminiError(err))),
    },
    'gemini encoder',
    // a blank line keeps the stream alive: @google/genai reads only `data:` frames and stalls on a comment
    '\n',
  );
}
