import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('reads the same table whatever the chunks cut, with or without a last newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ranks-'));
    try {
      const head = readFileSync(o200kDataFile()).subarray(0, 20_000);
      const text = head.subarray(0, head.lastIndexOf(0x0a) + 1);
      const withNewline = join(dir, 'with.tiktoken');
      const without = join(dir, 'without.tiktoken');
      writeFileSync(withNewline, text);
      writeFileSync(without, text.subarray(0, text.length - 1));
      const whole = readTiktokenTable(withNewline, 1 << 20);
      expect(whole.offsets.length).toBeGreaterThan(1000);
      for (const chunk of [64, 97, 4096]) {
        for (const file of [withNewline, without]) {
          const t = readTiktokenTable(file, chunk);
          expect(Buffer.from(t.bytes).equals(Buffer.from(whole.bytes))).toBe(true);
          expect([...t.offsets]).toEqual([...whole.offsets]);
        }
      }
      // a line that does not fit a chunk is an error, not a wrong table
      expect(() => readTiktokenTable(withNewline, 8)).toThrow(/longer than 8 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
