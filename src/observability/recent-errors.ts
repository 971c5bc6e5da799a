/**
 * The last N failed API requests, newest first, for the dashboard (GET /admin/errors/recent). Holds only what
 * the log line holds: ids, codes and fingerprints, never a message that could echo a client's input or a key.
 */

export interface ErrorEntry {
  at: string;
  requestId: string;
  method: string;
  path: string;
  status: number;
  code: string | null;
  model: string | null;
  upstreamKey: string | null;
  attempts: number | null;
  durationMs: number;
}

export class RecentErrors {
  private readonly ring: Array<ErrorEntry | undefined>;
  private next = 0;
  private count = 0;

  constructor(private readonly capacity = 100) {
    this.ring = new Array<ErrorEntry | undefined>(capacity);
  }

  push(entry: ErrorEntry): void {
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** newest first */
  list(limit = this.capacity): ErrorEntry[] {
    const out: ErrorEntry[] = [];
    for (let i = 1; i <= Math.min(limit, this.count); i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }
}
