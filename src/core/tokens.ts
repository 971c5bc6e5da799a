/**
 * Token counts when the upstream sent no metricsLog: counted locally, and marked `estimated` so nobody mistakes
 * them for OnDemand's own numbers. o200k_base is the encoding of the gpt-4o family, the usual default model;
 * for other models it is an approximation.
 */
import { createRequire } from 'node:module';
import type { Usage } from './types.js';

type CountFn = typeof import('gpt-tokenizer/encoding/o200k_base').countTokens;
let countO200k: CountFn | undefined;

/**
 * The encoding's tables cost about 57 MB of RSS, and most answers carry the upstream's own counts: load them on
 * the first count, not at start (the CommonJS build, so countTokens stays synchronous).
 */
function encoder(): CountFn {
  countO200k ??= (createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountFn }).countTokens;
  return countO200k;
}

/** Text such as "<|endoftext|>" in a message is ordinary text here; by default the tokenizer would throw on it. */
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

export function countTokens(text: string): number {
  return text === '' ? 0 : encoder()(text, PLAIN_TEXT);
}

let splitRegex: RegExp | undefined;

/**
 * Where the tokenizer's pre-tokenizer splits `text` (the start of each piece). Tokens never cross a piece, so a
 * text can be counted piece by piece; the regular expression is the encoding's own, not a copy.
 */
export function pieceStarts(text: string): number[] {
  splitRegex ??= (createRequire(import.meta.url)('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX;
  const starts: number[] = [];
  for (const m of text.matchAll(splitRegex)) starts.push(m.index);
  return starts;
}

export function estimateUsage(queryText: string, completionText: string): Usage {
  const inputTokens = countTokens(queryText);
  const outputTokens = countTokens(completionText);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
