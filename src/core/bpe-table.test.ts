import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PieceScanner } from '../runtime/regex-pieces.js';
import { o200kDataFile, readTiktokenTable } from '../runtime/tiktoken-ranks.js';
import { BpeCounter } from './bpe-table.js';

const load = createRequire(import.meta.url);
const library = load('gpt-tokenizer/encoding/o200k_base') as { countTokens(text: string, o: { disallowedSpecial: Set<string> }): number };
const { O200K_TOKEN_SPLIT_REGEX } = load('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp };
const counter = new BpeCounter(readTiktokenTable(o200kDataFile()), new PieceScanner(O200K_TOKEN_SPLIT_REGEX));
const libraryCount = (text: string): number => library.countTokens(text, { disallowedSpecial: new Set() });

/** a deterministic generator, so a failure names a text that can be run again */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** pieces the counter has to get right: words, spaces, digits, punctuation, scripts, emoji, byte order marks, surrogates */
const PARTS = [
  'hello',
  ' world',
  'The',
  ' quick',
  'brown',
  '  ',
  '\n',
  '\n\n',
  '\t',
  '   \n',
  '12345',
  '3.14159',
  '1,000,000',
  '!',
  '?!',
  '...',
  '—',
  '"',
  "'s",
  "n't",
  "'LL",
  'déjà',
  ' naïve',
  'Straße',
  'Fünf Ärzte',
  '東京都',
  '日本語のテキスト',
  '中文分词',
  '한국어',
  'Привет',
  ' мир',
  'שלום',
  'مرحبا',
  'हिन्दी',
  'ไทย',
  'Ελληνικά',
  '😀',
  '👍🏽',
  '👨‍👩‍👧',
  '🇫🇷',
  '∑∫√',
  '\u00a0',
  '\u200b',
  '\ufeff',
  '\ufeffA',
  '\ufeffusing',
  '\ufeff\n',
  '\ufeff//',
  'a\ufeff',
  '\ufeff\ufeff',
  '\ud800',
  'x\udfff',
  '\ud83d',
  '�',
  '<|endoftext|>',
  '<|im_start|>',
  'function f(x) { return x * 2; }',
  'const a = [1, 2, 3];',
  'SELECT * FROM t WHERE id = 1;',
  '{"key": "value"}',
  'https://example.com/a?b=c',
  'aGVsbG8gd29ybGQ=',
  'xn--bcher-kva',
  'ALLCAPSWORD',
  'camelCaseName',
  'snake_case_name',
  'ThisIsALongIdentifierWithoutSpacesAtAll',
];

const CASES: string[] = [
  '',
  'hello world',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  '<|endoftext|>',
  "It's 42 — déjà vu,\n  naïve 日本語 code() {}",
  'a b c d e f g '.repeat(50),
  'x'.repeat(3000),
  '😀'.repeat(200),
  '\ufeff'.repeat(7),
  // tokens that start with a byte order mark: gpt-tokenizer keeps them as bytes, and never finds them as text
  '\ufeffusing System;',
  '\ufeffnamespace A',
  '\ufeff\n\nx',
  '\ufeff// c',
  '\ufeff#',
  '\ufeff\ufeff',
  ' '.repeat(100),
  '1234567890'.repeat(30),
  Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20000))).join(''),
];

describe('BpeCounter (o200k over one buffer)', () => {
  it.each(CASES.map((t) => [t.length > 40 ? `${t.slice(0, 40)}… (${t.length})` : t, t]))("counts %j as gpt-tokenizer's o200k does", (_, text) => {
    expect(counter.count(text)).toBe(libraryCount(text));
  });

  it("gives gpt-tokenizer's count for 2000 texts mixed from every kind of piece", () => {
    const next = random(20261205);
    const differing: string[] = [];
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const n = 1 + Math.floor(next() * 12);
      for (let k = 0; k < n; k++) text += PARTS[Math.floor(next() * PARTS.length)];
      if (counter.count(text) !== libraryCount(text)) differing.push(text);
    }
    expect(differing).toEqual([]);
  });

  it("gives gpt-tokenizer's count for 2000 texts of random code points (every plane, lone surrogates too)", () => {
    const next = random(42);
    const differing: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const units: number[] = [];
      const n = 1 + Math.floor(next() * 24);
      for (let k = 0; k < n; k++) {
        const kind = next();
        // ASCII, Latin and symbols, CJK and others, astral, any UTF-16 unit (lone surrogates included)
        const cp =
          kind < 0.4
            ? 32 + Math.floor(next() * 95)
            : kind < 0.6
              ? 0xa0 + Math.floor(next() * 0x2000)
              : kind < 0.8
                ? Math.floor(next() * 0xffff)
                : 0x10000 + Math.floor(next() * 0x10000);
        const s = String.fromCodePoint(cp);
        for (let j = 0; j < s.length; j++) units.push(s.charCodeAt(j));
      }
      const text = String.fromCharCode(...units);
      if (counter.count(text) !== libraryCount(text)) differing.push(JSON.stringify(text));
    }
    expect(differing).toEqual([]);
  });

  it('counts nothing for an empty text and one token for each single ASCII character', () => {
    expect(counter.count('')).toBe(0);
    for (let c = 0; c < 128; c++) expect(counter.count(String.fromCharCode(c))).toBe(1);
  });
});
