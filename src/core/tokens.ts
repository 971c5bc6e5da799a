/**
 * Token counts when the upstream sent no metricsLog: counted locally, and marked `estimated` so nobody mistakes
 * them for OnDemand's own numbers. o200k_base is the encoding of the gpt-4o family, the usual default model;
 * for other models it is an approximation.
 */
import { createRequire } from 'node:module';
import { BpeCounter, type TokenTable } from './bpe-table.js';
import { PieceScanner } from '../runtime/regex-pieces.js';

type CountFn = (text: string, options: typeof PLAIN_TEXT) => number;
type Encoding = { countTokens: CountFn };
let countO200k: CountFn | undefined;
let splitRegex: RegExp | undefined;
/** the split pattern's pieces without a match array each (src/runtime/regex-pieces.ts), for the counter and pieceStarts */
let pieces: PieceScanner | undefined;

/** Text such as "<|endoftext|>" in a message is ordinary text here; by default the tokenizer would throw on it. */
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

/**
 * Loads the encoding (synchronous, so countTokens stays synchronous). Its tables take 100-400 ms of synchronous
 * work; any answer may need them (max_tokens past its byte bound, usage the upstream did not report,
 * count_tokens), and loaded on first use they froze every stream in flight. So the gateway calls this once at start,
 * before it listens, with `table`: the o200k tokens read from the package's data file (src/runtime/tiktoken-ranks.ts)
 * and counted by src/core/bpe-table.ts, which gives the package's counts for a quarter of its memory; without, the
 * package's own CommonJS module is loaded (the lazy path below, for code that runs alone).
 */
export function loadTokenizer(table?: () => TokenTable): void {
  const load = createRequire(import.meta.url);
  splitRegex ??= (load('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX;
  pieces ??= new PieceScanner(splitRegex);
  if (countO200k === undefined) {
    if (table === undefined) countO200k = (load('gpt-tokenizer/encoding/o200k_base') as Encoding).countTokens;
    else {
      const counter = new BpeCounter(table(), pieces);
      countO200k = (text) => counter.count(text);
    }
  }
  // V8 compiles a regular expression on its first matches: the split pattern's Unicode classes cost milliseconds.
  // The scanner's sticky copy is a pattern of its own (12-18 ms on a cold first pass, measured): the table's counter
  // runs it here, the package's own counter does not, so pieceStarts runs too.
  countO200k(WARM_TEXT, PLAIN_TEXT);
  WARM_TEXT.match(splitRegex);
  pieceStarts(WARM_TEXT);
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
  if (pieces === undefined) loadTokenizer();
  const starts: number[] = [];
  (pieces as PieceScanner).forEach(text, (start) => starts.push(start));
  return starts;
}
