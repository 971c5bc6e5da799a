import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { o200kDataFile, readTiktokenTable } from './tiktoken-ranks.js';

describe('tiktoken-ranks', () => {
  it("reads the data file into the package's own o200k table, entry for entry", () => {
    const generated = (createRequire(import.meta.url)('gpt-tokenizer/bpeRanks/o200k_base') as { default: Array<string | number[]> }).default;
    const { bytes, offsets } = readTiktokenTable(o200kDataFile());
    expect(offsets.length - 1).toBe(generated.length);
    const differing: number[] = [];
    for (let i = 0; i < generated.length; i++) {
      const entry = generated[i]!;
      const expected = typeof entry === 'string' ? Buffer.from(entry, 'utf8') : Buffer.from(entry);
      if (!expected.equals(bytes.subarray(offsets[i]!, offsets[i + 1]!))) differing.push(i);
    }
    expect(differing).toEqual([]);
    expect(Buffer.from(bytes.subarray(0, offsets[1]!)).toString()).toBe('!');
    // the buffer holds the tokens and nothing more
    expect(bytes.length).toBe(offsets[offsets.length - 1]);
  });
});
