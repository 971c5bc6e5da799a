import { describe, expect, it } from 'vitest';
import { countTokens } from './tokens.js';

describe('countTokens (o200k_base)', () => {
  // Exact values checked by running gpt-tokenizer 3.4's o200k_base encoder.
  it.each([
    ['', 0],
    ['hello world', 2],
    ['Hello, world!', 4],
    ['The quick brown fox jumps over the lazy dog.', 10],
    // special-token text is plain text here, not a reason to throw
    ['<|endoftext|>', 7],
  ])('%j → %i', (text, expected) => {
    expect(countTokens(text)).toBe(expected);
  });

  it('grows with the text and is never zero for non-empty text', () => {
    const samples = ['a', 'a b', 'a b c', 'a b c d e f g', 'a b c d e f g '.repeat(50)];
    const counts = samples.map(countTokens);
    for (const [i, n] of counts.entries()) {
      expect(n).toBeGreaterThan(0);
      if (i > 0) expect(n).toBeGreaterThanOrEqual(counts[i - 1] ?? 0);
    }
    expect(countTokens('日本語 😀 émoji')).toBeGreaterThan(0);
  });
});
