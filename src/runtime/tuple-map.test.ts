import { describe, expect, it } from 'vitest';
import { type KeyPart, TupleMap } from './tuple-map.js';

describe('TupleMap', () => {
  const cases: Array<{ name: string; set: KeyPart[][]; get: KeyPart[]; want: string | undefined }> = [
    { name: 'one part', set: [['a']], get: ['a'], want: 'a' },
    { name: 'absent trailing parts are empty strings', set: [['a', '']], get: ['a'], want: 'a,' },
    { name: 'parts are not joined: a|bc is not ab|c', set: [['ab', 'c']], get: ['a', 'bc'], want: undefined },
    { name: 'a separator inside a part does not collide', set: [['a\u0000b', 'c']], get: ['a', 'b\u0000c'], want: undefined },
    { name: 'a number and its digits are different parts', set: [['r', 200]], get: ['r', '200'], want: undefined },
    {
      name: 'four parts',
      set: [
        ['d', 'm', 'c', 'k'],
        ['d', 'm', 'c', 'j'],
      ],
      get: ['d', 'm', 'c', 'j'],
      want: 'd,m,c,j',
    },
    { name: 'order matters', set: [['x', 'y']], get: ['y', 'x'], want: undefined },
  ];
  it.each(cases)('$name', ({ set, get, want }) => {
    const map = new TupleMap<string>();
    for (const parts of set) map.set(parts.join(','), ...(parts as [KeyPart]));
    expect(map.get(...(get as [KeyPart]))).toBe(want);
  });

  it('counts entries once, lists every value, and starts over when cleared', () => {
    const map = new TupleMap<number>();
    map.set(1, 'a', 'b');
    map.set(2, 'a', 'c');
    map.set(3, 'a', 'b');
    map.set(4, 'z');
    expect(map.size).toBe(3);
    expect([...map.values()].sort()).toEqual([2, 3, 4]);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.get('a', 'b')).toBeUndefined();
    expect([...map.values()]).toEqual([]);
  });
});
