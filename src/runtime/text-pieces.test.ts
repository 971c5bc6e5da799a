import { describe, expect, it } from 'vitest';
import { TextPieces } from './text-pieces.js';

type Step = ['append', string] | ['reset', string];

const many = (n: number): Step[] => Array.from({ length: n }, (_, i): Step => ['append', `piece ${i} `]);

describe('TextPieces', () => {
  const cases: Array<[string, string, Step[]]> = [
    ['nothing', '', []],
    ['a start only', 'abc', []],
    ['one append', '', [['append', 'hello']]],
    [
      'empty appends change nothing',
      'a',
      [
        ['append', ''],
        ['append', 'b'],
        ['append', ''],
      ],
    ],
    ['below the join', '', many(16)],
    ['across one join', '', many(17)],
    ['across several joins', 'start ', many(100)],
    [
      'a reset keeps only its text',
      'old',
      [
        ['append', ' more'],
        ['reset', 'new'],
        ['append', ' tail'],
      ],
    ],
    [
      'a reset to empty',
      'old',
      [
        ['reset', ''],
        ['append', 'x'],
      ],
    ],
    ['astral characters stay whole', '', [['append', '😀'], ['append', 'é'], ...many(20), ['append', '😀']]],
  ];

  it.each(cases)('%s', (_name, start, steps) => {
    const pieces = new TextPieces(start);
    let expected = start;
    for (const [op, text] of steps) {
      if (op === 'append') {
        pieces.append(text);
        expected += text;
      } else {
        pieces.reset(text);
        expected = text;
      }
    }
    expect(pieces.text()).toBe(expected);
    // a second read is the same string
    expect(pieces.text()).toBe(expected);
  });

  it('holds a long answer in a few strings: O(log n) of them, not one per append', () => {
    const pieces = new TextPieces();
    let expected = '';
    for (let i = 0; i < 10_000; i++) {
      const piece = `tok${i % 97} `;
      pieces.append(piece);
      expected += piece;
      // fewer than 8 per level, five levels for 10,000 pieces
      expect(pieces.partCount).toBeLessThanOrEqual(35);
    }
    expect(pieces.text()).toBe(expected);
    expect(pieces.partCount).toBe(1);
  });

  it('reads between appends see the text so far', () => {
    const pieces = new TextPieces();
    let expected = '';
    for (let i = 0; i < 50; i++) {
      pieces.append(`${i},`);
      expected += `${i},`;
      if (i % 7 === 0) expect(pieces.text()).toBe(expected);
    }
    expect(pieces.text()).toBe(expected);
  });
});
