/**
 * Keeps the store off the request path: state changes only mark a key dirty; a timer (unref'd) writes the dirty
 * keys in one batch, and flush() does it at once (shutdown, operator actions). Writes are serialised, and a failed
 * write is reported and retried on the next round.
 */
import type { KeyRecord, StateStore } from '../store/types.js';
import type { Clock } from './clock.js';

export class StateWriter {
  private readonly dirty = new Set<string>();
  private readonly deleted = new Set<string>();
  private timer: unknown;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    /** the current record of a key, or undefined once it is gone */
    private readonly recordOf: (fingerprint: string, now: number) => KeyRecord | undefined,
    private readonly onError: (err: unknown, context: string) => void,
  ) {}

  changed(fingerprint: string): void {
    this.dirty.add(fingerprint);
    this.deleted.delete(fingerprint);
    this.arm();
  }

  removed(fingerprint: string): void {
    this.dirty.delete(fingerprint);
    this.deleted.add(fingerprint);
    this.arm();
  }

  flush(): Promise<void> {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.dirty.size === 0 && this.deleted.size === 0) return this.chain;
    const now = this.clock.now();
    const deletes = [...this.deleted];
    const records: KeyRecord[] = [];
    for (const fp of this.dirty) {
      const r = this.recordOf(fp, now);
      if (r !== undefined) records.push(r);
    }
    this.dirty.clear();
    this.deleted.clear();
    const store = this.store;
    this.chain = this.chain.then(async () => {
      try {
        for (const fp of deletes) await store.deleteKey(fp);
        if (records.length > 0) await store.saveKeys(records);
      } catch (err) {
        this.onError(err, 'saving key state failed');
        for (const fp of deletes) if (!this.dirty.has(fp)) this.removed(fp);
        for (const r of records) if (!this.deleted.has(r.fingerprint)) this.changed(r.fingerprint);
      }
    });
    return this.chain;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }
}
