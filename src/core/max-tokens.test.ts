import { describe, expect, it } from 'vitest';
import { GrowingCount, MaxTokensFilter } from './max-tokens.js';
import { countTokens } from './tokens.js';
import { ToolCallFilter } from './tools/parser.js';
import type { GatewayEvent } from './types.js';

const UPSTREAM_USAGE: GatewayEvent = { type: 'usage', usage: { inputTokens: 9, outputTokens: 99, totalTokens: 108, estimated: false } };
const STOP: GatewayEvent = { type: 'end', finishReason: 'stop' };
const text = (t: string): GatewayEvent => ({ type: 'text', text: t });
const reasoning = (t: string): GatewayEvent => ({ type: 'reasoning', text: t });

function run(limit: number, events: GatewayEvent[], countReasoning = true): GatewayEvent[] {
  const filter = new MaxTokensFilter({ limit, countReasoning, inputTokens: () => 7 });
  return events.flatMap((e) => filter.push(e));
}
const joined = (events: GatewayEvent[], type: 'text' | 'reasoning' = 'text') => events.flatMap((e) => (e.type === type ? [e.text] : [])).join('');
const cutUsage = (outputTokens: number): GatewayEvent => ({ type: 'usage', usage: { inputTokens: 7, outputTokens, totalTokens: 7 + outputTokens, estimated: true } });
const LENGTH: GatewayEvent = { type: 'end', finishReason: 'length' };

describe('MaxTokensFilter', () => {
  const answer = ['Hello from the', ' OnDemand simulator.', ' You said: hi'];
  const whole = answer.join('');

  it.each([
    // [limit, delivered text]; each delivered text has exactly `limit` tokens
    [1, 'Hello'],
    [2, 'Hello from'],
    [3, 'Hello from the'], // the limit reached exactly at the first delta's end: the next delta ends the answer
    [5, 'Hello from the OnDemand'], // in the middle of a delta
    [8, 'Hello from the OnDemand simulator. You'],
  ])('limit %i: %j, finish length, usage for what was delivered', (limit, expected) => {
    expect(countTokens(expected)).toBe(limit);
    const out = run(limit, [...answer.map(text), UPSTREAM_USAGE, STOP]);
    expect(joined(out)).toBe(expected);
    expect(out.slice(-2)).toEqual([cutUsage(limit), LENGTH]);
  });

  it('an answer within the limit is unchanged, upstream usage and stop included', () => {
    const events = [...answer.map(text), UPSTREAM_USAGE, STOP];
    for (const limit of [countTokens(whole), countTokens(whole) + 1, 100_000]) expect(run(limit, events)).toEqual(events);
  });

  it('the limit reached exactly by the last delta, then [DONE]: a normal stop', () => {
    const limit = countTokens(whole);
    expect(run(limit, [...answer.map(text), UPSTREAM_USAGE, STOP]).slice(-2)).toEqual([UPSTREAM_USAGE, STOP]);
  });

  it('reasoning counts and comes first: the text gets what is left', () => {
    const thought = 'Let me think about this step by step.';
    const n = countTokens(thought);
    const out = run(n + 2, [reasoning(thought), text('Hello from the OnDemand simulator.'), STOP]);
    expect(joined(out, 'reasoning')).toBe(thought);
    expect(joined(out)).toBe('Hello from');
    expect(out.slice(-2)).toEqual([cutUsage(n + 2), LENGTH]);
  });

  it('reasoning longer than the limit is cut, and no text follows', () => {
    const out = run(3, [reasoning('Let me think about this'), text('Hello'), STOP]);
    expect(out).toEqual([reasoning('Let me think'), cutUsage(3), LENGTH]);
  });

  it('where reasoning is not shown (legacy completions) it does not count', () => {
    const out = run(2, [reasoning('Let me think about this step by step.'), text('Hello from the'), STOP], false);
    expect(joined(out, 'reasoning')).toBe('Let me think about this step by step.');
    expect(out.slice(-3)).toEqual([text('Hello from'), cutUsage(2), LENGTH]);
  });

  it('a tool call that fits is delivered; one that does not is dropped, ending with length', () => {
    const calls: GatewayEvent = { type: 'tool_calls', calls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    const end: GatewayEvent = { type: 'end', finishReason: 'tool_calls' };
    const need = countTokens('Sure.') + countTokens('get_weather') + countTokens('{"city":"Paris"}');
    // the tool stage emits the upstream's usage before the calls; the filter moves it next to the end
    expect(run(need, [text('Sure.'), UPSTREAM_USAGE, calls, end])).toEqual([text('Sure.'), calls, UPSTREAM_USAGE, end]);
    expect(run(need - 1, [text('Sure.'), UPSTREAM_USAGE, calls, end])).toEqual([text('Sure.'), cutUsage(countTokens('Sure.')), LENGTH]);
  });

  it('after the tool stage: held-back call text never counts, a malformed call returned as text is cut like text', () => {
    const tools = new ToolCallFilter({ tools: [{ name: 'f' }], newId: () => 'call_1' });
    const cutter = new MaxTokensFilter({ limit: 4, countReasoning: true, inputTokens: () => 7 });
    const out = [text('<tool_call name="f">'), text('{"a": 1'), STOP].flatMap((e) => tools.push(e)).flatMap((e) => cutter.push(e));
    const delivered = joined(out);
    expect('<tool_call name="f">{"a": 1'.startsWith(delivered)).toBe(true);
    expect(countTokens(delivered)).toBe(4);
    expect(out.slice(-2)).toEqual([cutUsage(4), LENGTH]);
  });

  it('a limit inside a character that takes two tokens delivers one token less, and says so', () => {
    expect(countTokens('🎉')).toBe(2);
    const out = run(2, [text('a🎉'), STOP]);
    expect(out).toEqual([text('a'), cutUsage(1), LENGTH]);
  });

  it('nothing after the cut reaches the client', () => {
    const filter = new MaxTokensFilter({ limit: 1, countReasoning: true, inputTokens: () => 7 });
    filter.push(text('Hello world'));
    expect([text('more'), reasoning('x'), UPSTREAM_USAGE, STOP].flatMap((e) => filter.push(e))).toEqual([]);
  });
});

// ---- the counting it rests on ------------------------------------------------------------------------------

/** Deterministic pseudo-random numbers (tests must not flake). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' \t\n\r',
  ...`.,;:!?'"()[]{}<>/\\-_=+*&^%$#@~\``,
  "'s",
  "'ll",
  "'re",
  'é',
  'ü',
  'ß',
  '你',
  '好',
  '世界',
  '🎉',
  '👍🏽',
  'ＡＢ',
  '\u0301',
  '  ',
  '\n\n',
  ' \n ',
  '123456',
  '<|endoftext|>',
];

function randomText(next: () => number, length: number): string {
  let s = '';
  while (s.length < length) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

function randomSplit(next: () => number, s: string): string[] {
  const chars = Array.from(s);
  const parts: string[] = [];
  let i = 0;
  while (i < chars.length) {
    const n = 1 + Math.floor(next() * 12);
    parts.push(chars.slice(i, i + n).join(''));
    i += n;
  }
  return parts;
}

describe('counting', () => {
  it('an o200k token is at least one UTF-8 byte, so the byte count bounds the token count', () => {
    const next = rng(1);
    for (let i = 0; i < 300; i++) {
      const s = randomText(next, 1 + Math.floor(next() * 200));
      expect(countTokens(s)).toBeLessThanOrEqual(Buffer.byteLength(s, 'utf8'));
    }
    // lone surrogates are encoded as U+FFFD (3 bytes) by both
    expect(countTokens('\ud800x\udc00')).toBeLessThanOrEqual(Buffer.byteLength('\ud800x\udc00', 'utf8'));
  });

  it('GrowingCount: counted piece by piece it agrees with counting the whole text, and upper() never undercounts', () => {
    const next = rng(2);
    for (let round = 0; round < 150; round++) {
      const s = randomText(next, 20 + Math.floor(next() * 400));
      const count = new GrowingCount();
      let sofar = '';
      for (const part of randomSplit(next, s)) {
        count.append(part);
        sofar += part;
        if (next() < 0.5) {
          const exact = count.exact();
          expect(exact).toBe(countTokens(sofar));
          expect(count.upper()).toBeGreaterThanOrEqual(exact);
        }
      }
      expect(count.exact()).toBe(countTokens(s));
    }
  });

  it('GrowingCount: a text far longer than the tail it keeps is counted like the whole, and only a bounded tail stays uncounted', () => {
    const next = rng(4);
    const count = new GrowingCount();
    let whole = '';
    while (whole.length < 300_000) {
      const part = randomText(next, 1 + Math.floor(next() * 200));
      count.append(part);
      whole += part;
    }
    // upper() is the counted tokens plus the uncounted tail's bytes: kept whole, the tail would be the text's 300 KB
    expect(count.upper() - countTokens(whole)).toBeLessThan(20 * 1024);
    expect(count.exact()).toBe(countTokens(whole));
  });

  it('GrowingCount: one piece longer than the kept tail (a run of punctuation) is still counted like the whole', () => {
    const count = new GrowingCount();
    for (let i = 0; i < 400; i++) count.append('='.repeat(50));
    expect(count.exact()).toBe(countTokens('='.repeat(20_000)));
  });

  it('cut anywhere, the delivered text is a start of the answer within the limit, and at it whenever a start of that many tokens exists', () => {
    const next = rng(3);
    for (let round = 0; round < 150; round++) {
      const plain = next() < 0.5;
      const s = plain ? randomText(next, 300).replace(/[^\x20-\x7e]/g, 'x') : randomText(next, 300);
      const total = countTokens(s);
      const limit = 1 + Math.floor(next() * total);
      const out = run(limit, [...randomSplit(next, s).map(text), STOP]);
      const delivered = joined(out);
      expect(s.startsWith(delivered)).toBe(true);
      const n = countTokens(delivered);
      expect(n).toBeLessThanOrEqual(limit);
      // a start with exactly `limit` tokens may not exist: "a  4" is 3 tokens, "a  " only 2 ("  " splits before a digit)
      const exists = (from: number) => Array.from({ length: 40 }, (_, i) => from + i).some((j) => j <= s.length && countTokens(s.slice(0, j)) === limit);
      if (plain && n < limit) expect(exists(delivered.length)).toBe(false);
      if (limit < total) expect(out.slice(-2)).toEqual([cutUsage(n), LENGTH]);
      else expect(out.at(-1)).toEqual(STOP);
    }
  });
});
