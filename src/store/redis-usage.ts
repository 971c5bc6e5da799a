/**
 * The shared UsageStore: usage counters of every replica in Redis, so `GET /admin/usage` on any replica shows the
 * cluster. The usage recorder (src/observability/usage.ts) still aggregates in memory and hands a batch over every
 * few seconds: Redis is never on the request path.
 *
 *   <prefix>usage:<YYYY-MM-DD>          hash  "<m>:<json [model, client, upstreamKey]>" -> count
 *                                             m = r (requests) | i (tokens in) | o (tokens out) | e (errors);
 *                                             expires USAGE_RETENTION_DAYS after its day ends (0: never)
 *   <prefix>usage:applied:<batch id>    string  "this batch is counted" (48 h): makes a retry harmless
 *
 * One batch is one Lua script: every HINCRBY of the flush, or none of them (a script runs whole). Exactly once,
 * even when a flush half-succeeded, i.e. the script ran but its reply was lost (timeout, link dropped): such a
 * batch keeps its id and is sent again, before anything newer, until Redis answers; the script first sets the
 * batch's marker with SET NX and does nothing when the marker is already there. A batch that was certainly not
 * sent (Redis known to be down) is refused with an error instead, so the recorder keeps the rows in its pending
 * map (merged with newer ones: memory stays bounded through an outage) and retries at its next flush.
 */
import { randomUUID } from 'node:crypto';
import { type GatewayError, redisUnavailable } from '../core/errors.js';
import type { RedisConnection } from './redis-connection.js';
import type { UsageRow, UsageStore } from './types.js';

const APPLY_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local a = 2
for k = 2, #KEYS do
  local expireAt, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  for j = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  if expireAt > 0 then redis.call('PEXPIREAT', KEYS[k], expireAt) end
end
return 1
`;

const DAY_MS = 86_400_000;
const MARKER_TTL_MS = 2 * DAY_MS;
/** a longer run of unanswered batches than this (a Redis that accepts but never answers) drops the oldest */
const MAX_HELD = 1000;
const METRICS = [
  ['r', 'requests'],
  ['i', 'tokensIn'],
  ['o', 'tokensOut'],
  ['e', 'errors'],
] as const;

interface Batch {
  id: string;
  rows: UsageRow[];
}

export interface RedisUsageStoreOptions {
  /** USAGE_RETENTION_DAYS: a day's hash expires this many days after the day ends; 0 keeps it forever */
  retentionDays: number;
  onError?: (err: unknown, context: string) => void;
}

export class RedisUsageStore implements UsageStore {
  /** sent but not acknowledged: maybe counted, maybe not; resent with the same id (the script counts it once) */
  private readonly held: Batch[] = [];
  /** one batch in the air at a time, so the held ones always go first */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly onError: (err: unknown, context: string) => void;
  private readonly unhook: () => void;

  constructor(
    private readonly conn: RedisConnection,
    private readonly opts: RedisUsageStoreOptions,
  ) {
    this.onError = opts.onError ?? (() => {});
    // back after an outage: settle what was left unconfirmed without waiting for the next batch
    this.unhook = conn.onUp(() => {
      if (this.held.length > 0) this.serial(() => this.settleHeld()).catch(() => {});
    });
  }

  /** Number of batches whose outcome Redis has not confirmed yet (tests, diagnostics). */
  get unconfirmed(): number {
    return this.held.length;
  }

  addUsage(rows: UsageRow[]): Promise<void> {
    return this.serial(async () => {
      // Certainly not sent: the recorder keeps the rows and retries them with its next flush.
      if (!this.conn.isUp()) throw new Error('redis unavailable: usage kept in memory');
      await this.settleHeld();
      const counted = rows.filter((r) => r.requests !== 0 || r.tokensIn !== 0 || r.tokensOut !== 0 || r.errors !== 0);
      if (counted.length === 0) return;
      const batch: Batch = { id: randomUUID(), rows: counted.map((r) => ({ ...r })) };
      this.held.push(batch);
      if (this.held.length > MAX_HELD) {
        const dropped = this.held.shift();
        this.onError(new Error(`${dropped?.rows.length ?? 0} usage rows dropped`), 'too many unconfirmed usage batches in redis');
      }
      try {
        await this.apply(batch);
      } catch (err) {
        // Maybe counted, maybe not: never hand these rows back to the recorder (a retry of merged rows could
        // count them twice). The batch stays held and is resent, same id, before the next one.
        this.onError(err, 'writing usage to redis unconfirmed (kept, resent at the next flush)');
        return;
      }
      this.held.splice(this.held.indexOf(batch), 1);
    });
  }

  async loadUsage(sinceDay: string): Promise<UsageRow[]> {
    if (!this.conn.isUp()) throw unavailable();
    try {
      // an unconfirmed batch either is in Redis or is not: settle it first, so it is shown exactly once
      await this.serial(() => this.settleHeld());
      const days = daysFrom(sinceDay, Date.now() + DAY_MS);
      const hashes = await Promise.all(days.map((d) => this.conn.client.hGetAll(this.dayKey(d))));
      const out: UsageRow[] = [];
      days.forEach((day, i) => out.push(...parseDay(day, hashes[i] ?? {})));
      return out.sort((a, b) => (a.day === b.day ? 0 : a.day < b.day ? -1 : 1));
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Redis expires old days itself (PEXPIREAT on every write): nothing to do here. */
  pruneUsage(): number {
    return 0;
  }

  /** The connection belongs to src/wiring/state.ts. One last try for unconfirmed batches. */
  async close(): Promise<void> {
    this.unhook();
    if (this.held.length === 0) return;
    try {
      if (this.conn.isUp()) await this.serial(() => this.settleHeld());
    } catch {
      // reported below
    }
    if (this.held.length > 0) {
      const rows = this.held.reduce((n, b) => n + b.rows.length, 0);
      this.onError(new Error(`${rows} usage rows in ${this.held.length} batches`), 'usage not confirmed by redis at shutdown');
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Resends unconfirmed batches, oldest first; throws (leaving the rest held) at the first that fails again. */
  private async settleHeld(): Promise<void> {
    while (this.held.length > 0) {
      const batch = this.held[0] as Batch;
      await this.apply(batch);
      this.held.shift();
    }
  }

  private async apply(batch: Batch): Promise<void> {
    const byDay = new Map<string, Map<string, number>>();
    for (const r of batch.rows) {
      let fields = byDay.get(r.day);
      if (fields === undefined) byDay.set(r.day, (fields = new Map()));
      const id = JSON.stringify([r.model, r.client, r.upstreamKey]);
      for (const [m, prop] of METRICS) {
        const v = Math.round(r[prop]);
        if (v !== 0) fields.set(`${m}:${id}`, (fields.get(`${m}:${id}`) ?? 0) + v);
      }
    }
    const keys = [`${this.conn.prefix}usage:applied:${batch.id}`];
    const args: (string | number)[] = [MARKER_TTL_MS];
    for (const [day, fields] of byDay) {
      keys.push(this.dayKey(day));
      args.push(this.expireAt(day), fields.size);
      for (const [f, v] of fields) args.push(f, v);
    }
    await this.conn.eval<number>(APPLY_SCRIPT, keys, args);
  }

  private expireAt(day: string): number {
    if (this.opts.retentionDays <= 0) return 0;
    const start = Date.parse(`${day}T00:00:00Z`);
    return Number.isFinite(start) ? start + (this.opts.retentionDays + 1) * DAY_MS : 0;
  }

  private dayKey(day: string): string {
    return `${this.conn.prefix}usage:${day}`;
  }
}

const unavailable = (cause?: unknown): GatewayError => redisUnavailable('Usage is', 'usage_store_unavailable', cause);

/** Every UTC day from `since` to the day of `untilMs`, at most 400 (the API asks for at most 366). */
function daysFrom(since: string, untilMs: number): string[] {
  const start = Date.parse(`${since}T00:00:00Z`);
  if (!Number.isFinite(start)) return [];
  const out: string[] = [];
  for (let t = start; t <= untilMs && out.length < 400; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function parseDay(day: string, hash: Record<string, string>): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const [field, value] of Object.entries(hash)) {
    const metric = METRICS.find(([m]) => field.startsWith(`${m}:`));
    if (metric === undefined) continue;
    const id = field.slice(2);
    let row = rows.get(id);
    if (row === undefined) {
      let parts: unknown;
      try {
        parts = JSON.parse(id);
      } catch {
        continue;
      }
      if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) continue;
      const [model, client, upstreamKey] = parts as [string, string, string];
      row = { day, model, client, upstreamKey, requests: 0, tokensIn: 0, tokensOut: 0, errors: 0 };
      rows.set(id, row);
    }
    row[metric[1]] += Number(value) || 0;
  }
  return [...rows.values()];
}
