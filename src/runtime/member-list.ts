/**
 * A collection for a long-lived registry whose members come and go with every request (completions in flight, the
 * session pool's refills). A Set or Map that lives in the old generation allocates its next hash table there each
 * time it shrinks back (V8 rehashes a table in the table's own generation): one dead table in the old generation
 * per request, which only a full collection frees. Here a member is a node linked in and out: the node is all that
 * is allocated, and it dies young with its request. Why, and the measurement: docs/performance.md, "Fourteenth round".
 */

/** What add() returns: hand it to delete(). */
export interface Membership {
  readonly __membership: never;
}

interface Node<T> {
  value: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
  linked: boolean;
}

export class MemberList<T> implements Iterable<T> {
  private head: Node<T> | undefined;
  private tail: Node<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `value` at the end (iteration follows insertion order, as a Set's does). */
  add(value: T): Membership {
    const node: Node<T> = { value, prev: this.tail, next: undefined, linked: true };
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.count++;
    return node as unknown as Membership;
  }

  /** Removes the member; false when it was removed before. */
  delete(membership: Membership): boolean {
    const node = membership as unknown as Node<T>;
    if (!node.linked) return false;
    node.linked = false;
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.count--;
    return true;
  }

  /** The members now, in insertion order (a copy: the list may change while the caller works through it). */
  values(): T[] {
    const out = new Array<T>(this.count);
    let i = 0;
    for (let n = this.head; n !== undefined; n = n.next) out[i++] = n.value;
    return out;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.values()[Symbol.iterator]();
  }
}
