import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { o200kDataFile, readTiktokenRanks } from './tiktoken-ranks.js';

describe('tiktoken-ranks', () => {
  it("reads the data file into the package's own o200k table, entry for entry", () => {
    const generated = (createRequire(import.meta.url)('gpt-tokenizer/bpeRanks/o200k_base') as { default: Array<string | number[]> }).default;
    const read = readTiktokenRanks(o200kDataFile());
    expect(read.length).toBe(generated.length);
    const differing: number[] = [];
    for (let i = 0; i < generated.length; i++) if (JSON.stringify(read[i]) !== JSON.stringify(generated[i])) differing.push(i);
    expect(differing).toEqual([]);
    // both kinds are there: text tokens and byte tokens
    expect(read.some((t) => Array.isArray(t))).toBe(true);
    expect(read[0]).toBe('!');
  });
});
