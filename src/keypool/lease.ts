/** A lease hands out the raw key without letting it leak through JSON.stringify, util.inspect or a logger. */
import type { CallOutcome, KeyLease } from './types.js';

export class Lease implements KeyLease {
  readonly #key: string;
  #settle: ((outcome: CallOutcome) => void) | undefined;

  constructor(
    key: string,
    readonly fingerprint: string,
    settle: (outcome: CallOutcome) => void,
  ) {
    this.#key = key;
    this.#settle = settle;
  }

  get key(): string {
    return this.#key;
  }

  release(outcome: CallOutcome): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.(outcome);
  }

  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyLease(${this.fingerprint})`;
  }
}
