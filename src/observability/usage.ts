/**
 * Usage accounting: requests, tokens in and out, and errors per UTC day, model, client key and upstream key.
 * The request path only adds to an in-memory map; a timer (unref'd) hands the accumulated increments to the
 * UsageStore in one batch, and close() flushes the rest. Reads merge the store with what is not flushed yet.
 */
import { TupleMap } from '../runtime/tuple-map.js';
import type { UsageRow, UsageStore } from '../store/types.js';

export interface UsageEvent {
  /** ms epoch; decides the UTC day */
  at: number;
  model: string;
  /** client key fingerprint ("c:…"), or "anonymous" / "-" */
  client: string;
  /** upstream key fingerprint ("k:…"), or "-" when no key was used */
  upstreamKey: string;
  tokensIn: number;
  tokensOut: number;
  error: boolean;
}

export interface UsageReport {
  object: 'usage';
  days: number;
  /** first UTC day included */
  since: string;
  totals: Totals;
  byDay: Array<{ day: string } & Totals>;
  byModel: Array<{ model: string } & Totals>;
  byClient: Array<{ client: string } & Totals>;
  byUpstreamKey: Array<{ upstreamKey: string } & Totals>;
  /** the raw rows: one per day, model, client and upstream key */
  data: UsageRow[];
}

interface Totals {
  requests: number;
  tokensIn: number;
  tokensOut: number;
  errors: number;
}

export interface UsageRecorderOptions {
  store: UsageStore;
  flushIntervalMs?: number;
  /** keep this many days in the store (older rows are pruned once a day); 0 keeps everything */
  retentionDays?: number;
  onError?: (err: unknown, context: string) => void;
  now?: () => number;
}

const MODEL_MAX = 100;
const DAY_MS = 86_400_000;

let dayStart = 0;
let dayText = '1970-01-01';

/** "YYYY-MM-DD" of a ms epoch in UTC (the last day's text is kept: this runs once per request). */
export function utcDay(ms: number): string {
  if (ms >= dayStart && ms < dayStart + DAY_MS) return dayText;
  const text = new Date(ms).toISOString().slice(0, 10);
  dayStart = Math.floor(ms / DAY_MS) * DAY_MS;
  dayText = text;
  return text;
}

export class UsageRecorder {
  private pending = new TupleMap<UsageRow>();
  private readonly timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPrunedDay = '';
  private closed = false;
  private readonly now: () => number;
  private readonly onError: (err: unknown, context: string) => void;

  constructor(private readonly opts: UsageRecorderOptions) {
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? ((err, context) => console.error(`usage: ${context}:`, err));
    const interval = opts.flushIntervalMs ?? 15_000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.flush(), interval);
      this.timer.unref();
    }
  }

  record(ev: UsageEvent): void {
    if (this.closed) return;
    const day = utcDay(ev.at);
    const model = ev.model.slice(0, MODEL_MAX);
    const row = this.pendingRow(day, model, ev.client, ev.upstreamKey);
    row.requests++;
    row.tokensIn += ev.tokensIn;
    row.tokensOut += ev.tokensOut;
    if (ev.error) row.errors++;
  }

  /** The row not yet written for this day, model, client and key, made with zero counts the first time. */
  private pendingRow(day: string, model: string, client: string, upstreamKey: string): UsageRow {
    let row = this.pending.get(day, model, client, upstreamKey);
    if (row === undefined) {
      row = { day, model, client, upstreamKey, requests: 0, tokensIn: 0, tokensOut: 0, errors: 0 };
      this.pending.set(row, day, model, client, upstreamKey);
    }
    return row;
  }

  /** Writes what has accumulated; flushes never overlap. A failed batch is merged back and retried next time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.size > 0) {
      const batch = [...this.pending.values()];
      this.pending = new TupleMap();
      try {
        await this.opts.store.addUsage(batch);
      } catch (err) {
        for (const row of batch) addCounts(this.pendingRow(row.day, row.model, row.client, row.upstreamKey), row);
        this.onError(err, 'writing usage failed (kept in memory, retried at the next flush)');
        return;
      }
    }
    await this.pruneOnceADay();
  }

  private async pruneOnceADay(): Promise<void> {
    const keep = this.opts.retentionDays ?? 0;
    const today = utcDay(this.now());
    if (keep <= 0 || this.lastPrunedDay === today) return;
    this.lastPrunedDay = today;
    try {
      await this.opts.store.pruneUsage(utcDay(this.now() - keep * DAY_MS));
    } catch (err) {
      this.onError(err, 'pruning old usage failed');
    }
  }

  /** The last `days` UTC days (today included), stored and pending together. */
  async report(days: number): Promise<UsageReport> {
    const since = utcDay(this.now() - (days - 1) * DAY_MS);
    const merged = new Map<string, UsageRow>();
    for (const row of await this.opts.store.loadUsage(since)) mergeInto(merged, rowId(row), row);
    for (const row of this.pending.values()) if (row.day >= since) mergeInto(merged, rowId(row), row);
    const data = [...merged.values()].sort((a, b) => (a.day === b.day ? b.requests - a.requests : a.day < b.day ? -1 : 1));
    return {
      object: 'usage',
      days,
      since,
      totals: sum(data),
      byDay: groupBy(data, 'day').sort((a, b) => (a.day < b.day ? -1 : 1)),
      byModel: groupBy(data, 'model'),
      byClient: groupBy(data, 'client'),
      byUpstreamKey: groupBy(data, 'upstreamKey'),
      data,
    };
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }
}

function rowId(r: UsageRow): string {
  return `${r.day}\u0000${r.model}\u0000${r.client}\u0000${r.upstreamKey}`;
}

function mergeInto(map: Map<string, UsageRow>, id: string, row: UsageRow): void {
  const have = map.get(id);
  if (have === undefined) {
    map.set(id, { ...row });
    return;
  }
  addCounts(have, row);
}

function addCounts(have: UsageRow, row: UsageRow): void {
  have.requests += row.requests;
  have.tokensIn += row.tokensIn;
  have.tokensOut += row.tokensOut;
  have.errors += row.errors;
}

function sum(rows: Iterable<UsageRow>): Totals {
  const t: Totals = { requests: 0, tokensIn: 0, tokensOut: 0, errors: 0 };
  for (const r of rows) {
    t.requests += r.requests;
    t.tokensIn += r.tokensIn;
    t.tokensOut += r.tokensOut;
    t.errors += r.errors;
  }
  return t;
}

function groupBy<K extends 'day' | 'model' | 'client' | 'upstreamKey'>(rows: UsageRow[], field: K): Array<Record<K, string> & Totals> {
  const groups = new Map<string, UsageRow[]>();
  for (const r of rows) {
    const g = groups.get(r[field]);
    if (g === undefined) groups.set(r[field], [r]);
    else g.push(r);
  }
  return [...groups].map(([value, rs]) => ({ [field]: value, ...sum(rs) }) as Record<K, string> & Totals).sort((a, b) => b.requests - a.requests);
}
