/**
 * Token counts when the upstream sent no metricsLog: counted locally, and marked `estimated` so nobody mistakes
 * them for OnDemand's own numbers. o200k_base is the encoding of the gpt-4o family, the usual default model;
 * for other models it is an approximation.
 */
import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import type { Usage } from '../core/types.js';

/** Text such as "<|endoftext|>" in a message is ordinary text here; by default the tokenizer would throw on it. */
const PLAIN_TEXT = Object.freeze({ disallowedSpecial: new Set<string>() });

export function countTokens(text: string): number {
  return text === '' ? 0 : countO200k(text, PLAIN_TEXT);
}

export function estimateUsage(queryText: string, completionText: string): Usage {
  const inputTokens = countTokens(queryText);
  const outputTokens = countTokens(completionText);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
}
