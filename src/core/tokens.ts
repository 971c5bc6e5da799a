/**
 * Token counts when the upstream sent no metricsLog: counted locally, and marked `estimated` so nobody mistakes
 * them for OnDemand's own numbers. o200k_base is the encoding of the gpt-4o family, the usual default model;
 * for other models it is an approximation.
 */
import { createRequire } from 'node:module';
import type { Usage } from './types.js';

type CountFn = typeof import('gpt-tokenizer/encoding/o200k_base').countTokens;
type Encoding = { countTokens: CountFn };
/** gpt-tokenizer's mergeable ranks: index = rank; a string where the token is valid UTF-8, else its bytes */
export type BpeRanks = Array<string | number[]>;
let countO200k: CountFn | undefined;
let splitRegex: RegExp | undefined;

/** Text such as "<|endoftext|>" in a message is ordinary text here; by default the tokenizer would throw on it. */
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

/**
 * Loads the encoding (the CommonJS build, so countTokens stays synchronous). Its tables take 150-400 ms of
 * synchronous work; any answer may need them (max_tokens past its byte bound, usage the upstream did not report,
 * count_tokens), and loaded on first use they froze every stream in flight. So the gateway calls this once at start,
 * before it listens, with `ranks`: the o200k table read from the package's data file, which costs less memory than
 * the package's own module (src/runtime/tiktoken-ranks.ts); without, the package's module is loaded (the lazy path
 * below, for code that runs alone).
 */
export function loadTokenizer(ranks?: () => BpeRanks): void {
  const load = createRequire(import.meta.url);
  if (countO200k === undefined) {
    const encoding =
      ranks === undefined
        ? (load('gpt-tokenizer/encoding/o200k_base') as Encoding)
        : (load('gpt-tokenizer/GptEncoding') as { GptEncoding: { getEncodingApi(name: string, ranks: () => BpeRanks): Encoding } }).GptEncoding.getEncodingApi('o200k_base', ranks);
    countO200k = encoding.countTokens;
  }
  splitRegex ??= (load('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX;
  // V8 compiles a regular expression on its first match: the split pattern's Unicode classes cost milliseconds
  countO200k(WARM_TEXT, PLAIN_TEXT);
  WARM_TEXT.match(splitRegex);
}

const WARM_TEXT = "It's 42 — déjà vu,\n  naïve 日本語 code() {}";

function encoder(): CountFn {
  if (countO200k === undefined) loadTokenizer();
  return countO200k as CountFn;
}

export function countTokens(text: string): number {
  return text === '' ? 0 : encoder()(text, PLAIN_TEXT);
}

/**
 * Where the tokenizer's pre-tokenizer splits `text` (the start of each piece). Tokens never cross a piece, so a
 * text can be counted piece by piece; the regular expression is the encoding's own, not a copy.
 */
export function pieceStarts(text: string): number[] {
  if (splitRegex === undefined) loadTokenizer();
  const starts: number[] = [];
  for (const m of text.matchAll(splitRegex as RegExp)) starts.push(m.index);
  return starts;
}

export function estimateUsage(queryText: string, completionText: string): Usage {
  const inputTokens = countTokens(queryText);
  const outputTokens = countTokens(completionText);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
