import { describe, expect, it } from 'vitest';
import { MemberList } from './member-list.js';

describe('MemberList', () => {
  it('keeps insertion order through removals at the head, the middle and the tail', () => {
    const list = new MemberList<string>();
    const a = list.add('a');
    const b = list.add('b');
    const c = list.add('c');
    const d = list.add('d');
    expect([...list]).toEqual(['a', 'b', 'c', 'd']);
    expect(list.delete(b)).toBe(true);
    expect([...list]).toEqual(['a', 'c', 'd']);
    expect(list.delete(a)).toBe(true);
    expect(list.delete(d)).toBe(true);
    expect([...list]).toEqual(['c']);
    expect(list.size).toBe(1);
    list.add('e');
    expect(list.values()).toEqual(['c', 'e']);
    expect(list.delete(c)).toBe(true);
    expect([...list]).toEqual(['e']);
  });

  it('removes a member once: a second delete changes nothing', () => {
    const list = new MemberList<number>();
    const one = list.add(1);
    list.add(2);
    expect(list.delete(one)).toBe(true);
    expect(list.delete(one)).toBe(false);
    expect(list.size).toBe(1);
    expect([...list]).toEqual([2]);
  });

  it('gives a copy: removing members while going through it skips none', () => {
    const list = new MemberList<number>();
    const members = new Map([1, 2, 3].map((v) => [v, list.add(v)]));
    const seen: number[] = [];
    for (const v of list) {
      seen.push(v);
      const m = members.get(v);
      if (m !== undefined) list.delete(m);
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(list.size).toBe(0);
    expect([...list]).toEqual([]);
  });

  it('holds the same values as a Set under random adds and deletes', () => {
    const list = new MemberList<number>();
    const set = new Set<number>();
    const handles = new Map<number, ReturnType<typeof list.add>>();
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5000; i++) {
      const v = Math.floor(rand() * 50);
      if (set.has(v)) {
        set.delete(v);
        const h = handles.get(v);
        if (h !== undefined) list.delete(h);
        handles.delete(v);
      } else {
        set.add(v);
        handles.set(v, list.add(v));
      }
      expect(list.size).toBe(set.size);
    }
    expect([...list]).toEqual([...set]);
  });
});
