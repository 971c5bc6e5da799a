/**
 * The simulator's deterministic default answer, its token arithmetic and the delta splitter.
 * Tests import these to compute the exact text and usage they should see.
 */
import type { AnswerContext, SimAnswer } from './types.js';
import { simJsonAnswer } from './json.js';
import { pluginAnswer, usesInternetSearch } from './plugins.js';
import { simToolAnswer } from './tools.js';

/** Query marker: answer with the whole query text verbatim. */
export const ECHO_MARKER = 'SIM_ECHO';
/** Query marker: leave out the metricsLog frame. */
export const NO_METRICS_MARKER = 'SIM_NO_METRICS';
/** Query marker: answer UNICODE_ANSWER and split every frame's bytes inside a multi-byte character. */
export const UNICODE_MARKER = 'SIM_UNICODE';

export const UNICODE_ANSWER = 'héllo wörld — 你好，世界 🎉';
export const THINKING_TEXT = 'Let me think about this step by step.';
/** Default cap on the number of fulfillment deltas. */
export const MAX_DELTAS = 64;

/** The simulator's token count: ceil(UTF-16 length / 4). */
export function simTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Usage the simulator reports in metricsLog for a query and an answer (unless the answer overrides it). */
export function simUsage(query: string, answer: string): { inputTokens: number; outputTokens: number; totalTokens: number } {
  const inputTokens = simTokens(query);
  const outputTokens = simTokens(answer);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

/** Thinking is produced for reasoning endpoints (deepseek-r1, o3, gpt5) or when the body carries reasoningEffort. */
export function wantsThinking(endpointId: string, reasoningEffort?: string): boolean {
  return reasoningEffort !== undefined || /deepseek-r1|o3|gpt5/.test(endpointId);
}

/** Truncate to `max` code points (never splits a surrogate pair). */
function truncate(text: string, max: number): string {
  const cps = Array.from(text);
  return cps.length <= max ? text : cps.slice(0, max).join('');
}

/**
 * The last line of the query that is not a transcript tag such as `</user>` (so a multi-turn transcript answers
 * with the user's last words), trimmed and cut to 200 characters.
 */
export function lastLine(query: string): string {
  const lines = query.trim().split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (!/^<\/?[a-z_]+(\s[^>]*)?>$/.test(line)) return truncate(line, 200);
  }
  return truncate((lines[lines.length - 1] ?? '').trim(), 200);
}

/** A question for the code word, which the answer finds in what the session was told (its memory or the query). */
const CODE_WORD_QUESTION = /\bwhat (?:is|was) the code word\b/gi;
const CODE_WORD = /\bcode word is\s+["'*]*([\p{L}\p{N}_-]+)/giu;

/**
 * Session memory, as OnDemand sessions keep it: a question for the code word is answered with the last code word
 * given earlier, in this query (a replayed transcript) or in an earlier turn of the session, else "I do not know".
 */
export function recallCodeWord(ctx: Pick<AnswerContext, 'query' | 'history'>): string | undefined {
  // the last question asks: a replayed transcript may hold earlier ones
  const question = [...ctx.query.matchAll(CODE_WORD_QUESTION)].at(-1);
  if (question === undefined) return undefined;
  const lastIn = (text: string): string | undefined => [...text.matchAll(CODE_WORD)].at(-1)?.[1];
  let word = lastIn(ctx.query.slice(0, question.index));
  for (let i = ctx.history.length - 1; word === undefined && i >= 0; i--) word = lastIn(ctx.history[i] ?? '');
  return word === undefined ? 'I do not know the code word.' : `The code word is ${word}.`;
}

/** The default answer text only (no thinking, no tokens). */
export function defaultAnswerText(ctx: AnswerContext): string {
  if (ctx.query.includes(UNICODE_MARKER)) return UNICODE_ANSWER;
  if (ctx.query.includes(ECHO_MARKER)) return ctx.query;
  const jsonAnswer = simJsonAnswer(ctx.query); // the query asks for JSON (src/simulator/json.ts)
  const toolAnswer = simToolAnswer(ctx.query, jsonAnswer); // the query offers tools (src/simulator/tools.ts)
  if (toolAnswer !== undefined) return toolAnswer;
  if (jsonAnswer !== undefined) return jsonAnswer;
  const recalled = recallCodeWord(ctx); // session memory
  if (recalled !== undefined) return recalled;
  if (usesInternetSearch(ctx.pluginIds)) return pluginAnswer(ctx.query); // a plugin run (src/simulator/plugins.ts)
  let text = `Hello from the OnDemand simulator (${ctx.endpointId}). You said: ${lastLine(ctx.query)}`;
  if (ctx.media && ctx.media.length > 0) text += `\nAttached: ${ctx.media.join(', ')}`;
  return text;
}

/** The default answer: deterministic text, thinking for reasoning models; tokens are left to simUsage. */
export function defaultAnswer(ctx: AnswerContext): SimAnswer {
  const answer: SimAnswer = { text: defaultAnswerText(ctx) };
  if (wantsThinking(ctx.endpointId, ctx.reasoningEffort)) answer.thinking = THINKING_TEXT;
  return answer;
}

/**
 * Split text into deltas on code-point boundaries (a UTF-16 surrogate pair is never cut).
 * count > 0: that many pieces of about equal length (fewer if the text is shorter).
 * Otherwise: one piece per word (leading whitespace attached), merged down to at most MAX_DELTAS.
 * The pieces always join back to `text`; an empty text gives no pieces.
 */
export function splitDeltas(text: string, count?: number): string[] {
  if (text.length === 0) return [];
  if (count !== undefined && count > 0) return evenGroups(Array.from(text), Math.floor(count));
  const words = text.match(/\s*\S+/g) ?? [];
  const covered = words.reduce((n, w) => n + w.length, 0);
  if (words.length === 0) return [text];
  if (covered < text.length) words[words.length - 1] += text.slice(covered); // trailing whitespace
  return words.length <= MAX_DELTAS ? words : evenGroups(words, MAX_DELTAS);
}

function evenGroups(items: string[], count: number): string[] {
  const n = Math.min(count, items.length);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    out.push(items.slice(Math.floor((k * items.length) / n), Math.floor(((k + 1) * items.length) / n)).join(''));
  }
  return out;
}
