/**
 * Key call outcomes shared through Redis, so that every replica judges a key's transient failures on the whole
 * cluster's calls: three replicas each seeing one 5xx of a key count three, as one replica seeing all would.
 *
 *   <prefix>outcomes:<bucket>  hash  "<fingerprint>|o" / "<fingerprint>|f" -> calls that succeeded / failed
 *                                    bucket = Redis time / BUCKET_MS; expires after the window
 *
 * Never on the request path: outcomes are added to a local batch; every REFRESH_MS a background tick writes the
 * batch (one script: HINCRBY into the current bucket on Redis's clock) and reads the last two buckets back (one
 * script), older buckets being final and kept from earlier reads. The pool reads this local view. This replica's
 * own writes are subtracted, so the view holds only the other replicas' calls. Redis down: the batch is dropped
 * (these counts only matter for a minute) and the view is empty, so each replica judges on its own calls.
 */
import type { PeerCounts, PeerOutcomes } from './types.js';
import type { RedisConnection } from './redis-connection.js';

const WRITE_SCRIPT = `
local t = redis.call('TIME')
local b = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / tonumber(ARGV[2]))
local key = ARGV[1] .. b
for i = 4, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', key, ARGV[3])
return b
`;

const READ_SCRIPT = `
local t = redis.call('TIME')
local b = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / tonumber(ARGV[2]))
local out = {b}
for i = b - tonumber(ARGV[3]) + 1, b do table.insert(out, redis.call('HGETALL', ARGV[1] .. i)) end
return out
`;

export const BUCKET_MS = 1000;
export const REFRESH_MS = 200;

interface Counts {
  ok: number;
  failed: number;
}

type Bucket = Map<string, Counts>;

export interface RedisOutcomesOptions {
  /** the key-state transient window (KeyStateSettings.transientWindowMs) */
  windowMs: number;
  refreshMs?: number;
}

export class RedisOutcomes implements PeerOutcomes {
  private pending = new Map<string, Counts>();
  /** the cluster's counts per bucket (everyone's, ours included) */
  private readonly cluster = new Map<number, Bucket>();
  /** what this replica added per bucket: subtracted from the cluster's */
  private readonly own = new Map<number, Bucket>();
  private readonly listeners = new Set<(fps: readonly string[]) => void>();
  private readonly windowBuckets: number;
  private readonly timer: NodeJS.Timeout;
  /** the current bucket at the last read; undefined: no fresh view */
  private current: number | undefined;
  private lastReadAt = 0;
  private running = false;
  /** completed refresh ticks (tests wait on this instead of on time) */
  refreshes = 0;

  constructor(
    private readonly conn: RedisConnection,
    opts: RedisOutcomesOptions,
  ) {
    this.windowBuckets = Math.max(1, Math.ceil(opts.windowMs / BUCKET_MS));
    this.timer = setInterval(() => void this.tick(), opts.refreshMs ?? REFRESH_MS);
    this.timer.unref();
  }

  record(fingerprint: string, ok: boolean): void {
    if (!this.conn.isUp()) return;
    add(this.pending, fingerprint, ok ? 1 : 0, ok ? 0 : 1);
  }

  counts(fingerprint: string, sinceMs: number): PeerCounts | undefined {
    if (this.current === undefined) return undefined;
    let ok = 0;
    let failed = 0;
    for (let b = this.current - this.windowBuckets + 1; b <= this.current; b++) {
      // calls from before the key's status began were judged already (the bucket it began in is kept: a key is
      // not called in the second before it comes back from a cooldown, dead or disabled)
      if ((b + 1) * BUCKET_MS <= sinceMs) continue;
      const all = this.cluster.get(b)?.get(fingerprint);
      if (all === undefined) continue;
      const mine = this.own.get(b)?.get(fingerprint);
      ok += Math.max(0, all.ok - (mine?.ok ?? 0));
      failed += Math.max(0, all.failed - (mine?.failed ?? 0));
    }
    return ok === 0 && failed === 0 ? undefined : { ok, failed };
  }

  onFailures(listener: (fingerprints: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  /** One background round: write our batch, read the recent buckets back. Never overlaps itself. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (!this.conn.isUp()) {
        this.forget();
        return;
      }
      await this.write();
      await this.read();
      this.refreshes++;
    } catch {
      // slow or gone: judge on local calls until the next good round
      this.forget();
    } finally {
      this.running = false;
    }
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const args: (string | number)[] = [`${this.conn.prefix}outcomes:`, BUCKET_MS, (this.windowBuckets + 2) * BUCKET_MS];
    for (const [fp, c] of batch) {
      if (c.ok > 0) args.push(`${fp}|o`, c.ok);
      if (c.failed > 0) args.push(`${fp}|f`, c.failed);
    }
    // Redis's clock decides the bucket; ours is the guess when the reply is lost
    let bucket = Math.floor(Date.now() / BUCKET_MS);
    try {
      bucket = Number(await this.conn.eval<number>(WRITE_SCRIPT, [], args));
    } finally {
      // Counted as ours even when the reply was lost (it may have landed): the view then errs on the side of
      // fewer peer failures, never of counting our own calls as another replica's.
      let mine = this.own.get(bucket);
      if (mine === undefined) this.own.set(bucket, (mine = new Map()));
      for (const [fp, c] of batch) add(mine, fp, c.ok, c.failed);
    }
  }

  private async read(): Promise<void> {
    const now = Date.now();
    const wanted = this.current === undefined ? this.windowBuckets : 2 + Math.ceil((now - this.lastReadAt) / BUCKET_MS);
    const n = Math.min(this.windowBuckets, wanted);
    const reply = await this.conn.eval<unknown[]>(READ_SCRIPT, [], [`${this.conn.prefix}outcomes:`, BUCKET_MS, n]);
    const current = Number(reply[0]);
    if (!Number.isFinite(current)) throw new Error('unexpected reply reading key outcomes');
    const grew = new Set<string>();
    for (let i = 1; i < reply.length; i++) {
      const b = current - n + i;
      const next = parseBucket(reply[i]);
      const before = this.cluster.get(b);
      for (const [fp, c] of next) if (c.failed > (before?.get(fp)?.failed ?? 0)) grew.add(fp);
      this.cluster.set(b, next);
    }
    this.current = current;
    this.lastReadAt = now;
    for (const map of [this.cluster, this.own]) for (const b of map.keys()) if (b <= current - this.windowBuckets) map.delete(b);
    // only failures that are not ours are news for the pool
    const news = [...grew].filter((fp) => (this.counts(fp, -Infinity)?.failed ?? 0) > 0);
    if (news.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(news);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  /** No fresh view. What we wrote stays remembered (it is still in Redis for a minute), pruned by age. */
  private forget(): void {
    this.pending.clear();
    this.cluster.clear();
    this.current = undefined;
    const oldest = Math.floor(Date.now() / BUCKET_MS) - this.windowBuckets;
    for (const b of this.own.keys()) if (b <= oldest) this.own.delete(b);
  }
}

function add(map: Map<string, Counts>, fp: string, ok: number, failed: number): void {
  const c = map.get(fp);
  if (c === undefined) map.set(fp, { ok, failed });
  else {
    c.ok += ok;
    c.failed += failed;
  }
}

/** HGETALL as RESP2 gives it: a flat [field, value, field, value, …] list. */
function parseBucket(raw: unknown): Bucket {
  const out: Bucket = new Map();
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = String(raw[i]);
    const n = Number(raw[i + 1]);
    const bar = field.lastIndexOf('|');
    if (bar <= 0 || !Number.isFinite(n)) continue;
    const fp = field.slice(0, bar);
    if (field.endsWith('|o')) add(out, fp, n, 0);
    else if (field.endsWith('|f')) add(out, fp, 0, n);
  }
  return out;
}
