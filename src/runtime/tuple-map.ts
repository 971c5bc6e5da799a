/**
 * A Map keyed by a tuple of up to four parts, one Map level per part, so that no key string is built. A composite key
 * such as `${route}\u0000${model}\u0000${status}` is a new string on every call, which V8 must flatten, hash and
 * compare character by character before the lookup can answer; the parts themselves are long-lived strings (a route,
 * a model label, a key's fingerprint) whose hash V8 computes once and keeps in the string. On the request path this
 * was about 1 % of a request's CPU, spread over five call sites (docs/performance.md, "Nineteenth round").
 * Absent trailing parts are the empty string: `get('a')` and `get('a', '')` are the same entry.
 */
export type KeyPart = string | number;

type Level<V> = Map<KeyPart, Map<KeyPart, Map<KeyPart, Map<KeyPart, V>>>>;

export class TupleMap<V> {
  private root: Level<V> = new Map();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(a: KeyPart, b: KeyPart = '', c: KeyPart = '', d: KeyPart = ''): V | undefined {
    return this.root.get(a)?.get(b)?.get(c)?.get(d);
  }

  set(value: V, a: KeyPart, b: KeyPart = '', c: KeyPart = '', d: KeyPart = ''): void {
    let l1 = this.root.get(a);
    if (l1 === undefined) this.root.set(a, (l1 = new Map()));
    let l2 = l1.get(b);
    if (l2 === undefined) l1.set(b, (l2 = new Map()));
    let l3 = l2.get(c);
    if (l3 === undefined) l2.set(c, (l3 = new Map()));
    if (!l3.has(d)) this.count++;
    l3.set(d, value);
  }

  *values(): IterableIterator<V> {
    for (const l1 of this.root.values()) for (const l2 of l1.values()) for (const l3 of l2.values()) yield* l3.values();
  }

  clear(): void {
    this.root = new Map();
    this.count = 0;
  }
}
