import { describe, expect, it } from 'vitest';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { PieceScanner } from './regex-pieces.js';

function scanned(pattern: RegExp, text: string): [number, number][] {
  const out: [number, number][] = [];
  new PieceScanner(pattern).forEach(text, (start, end) => out.push([start, end]));
  return out;
}

function matchAllOf(pattern: RegExp, text: string): [number, number][] {
  return [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))].map((m) => [m.index, m.index + m[0].length]);
}

/** random text from pieces that exercise every alternative of the split pattern, lone surrogates included */
function randomText(random: () => number, length: number): string {
  const parts = ['a', 'Z', 'é', '日本', '42', '12345', ' ', '  ', '\n', '\r\n', '\t', "'s", "'LL", '!?', '—', '😀', '\ud800', '\udc00', 'x\u0301', '.', '/', '$'];
  let out = '';
  while (out.length < length) out += parts[Math.floor(random() * parts.length)];
  return out;
}

describe('PieceScanner', () => {
  it.each([
    ['a tiling pattern', /\s+|\S+/gu, 'ab  cd\n e'],
    ['gaps between matches (the global scan takes over)', /\d+/g, 'ab12cd345e6'],
    ['a gap after a tiled start', /[a-z]+|\s+/g, 'ab cd 12 ef'],
    ['empty matches, stepped over as matchAll does', /x*/g, 'axxb'],
    ['empty matches over a surrogate pair (unicode)', /x*/gu, 'a😀x'],
    ['empty text', /\S+/g, ''],
  ])('finds what matchAll finds: %s', (_name, pattern, text) => {
    expect(scanned(pattern, text)).toEqual(matchAllOf(pattern, text));
  });

  it("finds o200k's split pattern's pieces as matchAll does, on 2,000 random texts", () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    for (let i = 0; i < 2000; i++) {
      const text = randomText(random, 1 + Math.floor(random() * 60));
      expect(scanned(O200K_TOKEN_SPLIT_REGEX, text)).toEqual(matchAllOf(O200K_TOKEN_SPLIT_REGEX, text));
    }
  });

  it('may be used again inside its own callback', () => {
    const scanner = new PieceScanner(/\d+/g);
    const inner: string[] = [];
    scanner.forEach('a1b22', (s, e) => scanner.forEach('x9y', (s2, e2) => inner.push(`${s}-${e}:${s2}-${e2}`)));
    expect(inner).toEqual(['1-2:1-2', '3-5:1-2']);
  });
});
