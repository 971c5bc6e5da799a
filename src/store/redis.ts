/**
 * The shared StateStore: key records in one Redis hash, every write a Lua script (atomic), and a key whose
 * status changes published on the gateway's channel so the other replicas apply it within milliseconds.
 *
 *   <prefix>keys   hash  fingerprint -> KeyRecord JSON (admin keys keep their raw key: Redis holds secrets)
 *   <prefix>meta   hash  fingerprint -> "<since> <status>|<reason>|<until>" (what the script compares)
 *   <prefix>events channel  {"o":origin,"t":"key","c":RemoteKeyChange}
 *
 * Which write wins: the one whose status began later (`state.since`). A replica flushing a stale view (its
 * counters from before it heard that the key died) cannot bring a dead key back; its record is skipped and the
 * newer one is handed to its pool instead. Counters are written but not published: they are each replica's
 * view, and the last writer's is what a restart reads back.
 *
 * Redis down or slow: writes are kept locally (the last record of every key) and never fail the pool; when the
 * link is back every local record is written again (the same rule decides) and the whole hash is read back
 * into the pool, so replicas converge without anyone restarting.
 */
import type { RedisConnection } from './redis-connection.js';
import type { KeyRecord, KeySource, RemoteKeyChange, StateStore } from './types.js';

const SAVE_SCRIPT = `
local skipped = {}
for i = 3, #ARGV, 4 do
  local fp, since, sig, json = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[2], fp)
  local curSince, curSig = nil, nil
  if cur then
    local sp = string.find(cur, ' ', 1, true)
    if sp then curSince = tonumber(string.sub(cur, 1, sp - 1)); curSig = string.sub(cur, sp + 1) end
  end
  if curSince ~= nil and curSince > since then
    table.insert(skipped, fp)
  else
    redis.call('HSET', KEYS[1], fp, json)
    redis.call('HSET', KEYS[2], fp, ARGV[i + 1] .. ' ' .. sig)
    if curSig ~= sig then
      redis.call('PUBLISH', ARGV[1], '{"o":' .. cjson.encode(ARGV[2]) .. ',"t":"key","c":{"type":"upsert","record":' .. json .. '}}')
    end
  end
end
return skipped
`;

const DELETE_SCRIPT = `
local n = redis.call('HDEL', KEYS[1], ARGV[3])
redis.call('HDEL', KEYS[2], ARGV[3])
if n > 0 then
  redis.call('PUBLISH', ARGV[1], '{"o":' .. cjson.encode(ARGV[2]) .. ',"t":"key","c":{"type":"delete","fingerprint":' .. cjson.encode(ARGV[3]) .. '}}')
end
return n
`;

/** Records per script call: keeps one call well under a millisecond of Redis time. */
const CHUNK = 200;

const SOURCES: ReadonlySet<string> = new Set<KeySource>(['env', 'file', 'admin']);

interface StatusView {
  status?: unknown;
  reason?: unknown;
  until?: unknown;
  since?: unknown;
}

export class RedisStateStore implements StateStore {
  private readonly keysHash: string;
  private readonly metaHash: string;
  /** the last record this replica wrote (or tried to) for every key: replayed after an outage */
  private readonly local = new Map<string, KeyRecord>();
  /** deletes Redis has not seen yet */
  private readonly pendingDeletes = new Set<string>();
  private readonly listeners = new Set<(change: RemoteKeyChange) => void>();
  private resyncing: Promise<void> | undefined;
  private readonly unhook: Array<() => void> = [];

  constructor(
    private readonly conn: RedisConnection,
    private readonly onError: (err: unknown, context: string) => void = () => {},
  ) {
    this.keysHash = `${conn.prefix}keys`;
    this.metaHash = `${conn.prefix}meta`;
    this.unhook.push(
      conn.onMessage((m) => {
        const msg = m as { t?: unknown; c?: unknown };
        if (msg.t !== 'key') return;
        const change = asRemoteChange(msg.c);
        if (change !== undefined) this.deliver([change]);
      }),
      conn.onUp((recovered) => {
        if (recovered) void this.resync();
      }),
    );
  }

  async loadKeys(): Promise<KeyRecord[]> {
    if (!this.conn.isUp()) return [];
    try {
      return parseAll(await this.conn.client.hGetAll(this.keysHash));
    } catch (err) {
      this.onError(err, 'reading key state from redis failed; starting on local state');
      return [];
    }
  }

  async saveKeys(records: KeyRecord[]): Promise<void> {
    for (const r of records) {
      this.local.set(r.fingerprint, r);
      this.pendingDeletes.delete(r.fingerprint);
    }
    // While Redis is away the records wait in `local`; the resync after it returns writes them.
    if (!this.conn.isUp()) return;
    await this.write(records);
  }

  async deleteKey(fingerprint: string): Promise<void> {
    this.local.delete(fingerprint);
    this.pendingDeletes.add(fingerprint);
    if (!this.conn.isUp()) return;
    try {
      await this.conn.eval(DELETE_SCRIPT, [this.keysHash, this.metaHash], [this.conn.channel, this.conn.origin, fingerprint]);
      this.pendingDeletes.delete(fingerprint);
    } catch {
      // kept in pendingDeletes for the resync
    }
  }

  subscribe(onChange: (change: RemoteKeyChange) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** The connection is owned by whoever opened it (src/wiring/state.ts); this only stops listening. */
  close(): void {
    for (const u of this.unhook) u();
    this.listeners.clear();
  }

  /** After an outage: write what we know, then read back what everyone agreed on. Serialised. */
  resync(): Promise<void> {
    this.resyncing ??= this.doResync().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async doResync(): Promise<void> {
    try {
      for (const fp of [...this.pendingDeletes]) await this.deleteKey(fp);
      await this.write([...this.local.values()], true);
      const all = parseAll(await this.conn.client.hGetAll(this.keysHash));
      this.deliver(all.map((record) => ({ type: 'upsert', record })));
    } catch (err) {
      this.onError(err, 'catching up with redis failed; will try again when it reconnects');
    }
  }

  private async write(records: readonly KeyRecord[], rethrow = false): Promise<void> {
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      const args: (string | number)[] = [this.conn.channel, this.conn.origin];
      for (const r of chunk) {
        const s = (r.state ?? {}) as StatusView;
        const since = typeof s.since === 'number' && Number.isFinite(s.since) ? Math.round(s.since) : 0;
        args.push(r.fingerprint, since, `${String(s.status)}|${String(s.reason)}|${String(s.until)}`, JSON.stringify(r));
      }
      try {
        const skipped = await this.conn.eval<string[]>(SAVE_SCRIPT, [this.keysHash, this.metaHash], args);
        if (skipped.length > 0) await this.adoptNewer(skipped);
      } catch (err) {
        // Slow or gone: the records stay in `local` and the next resync writes them. Never an error for the pool.
        if (rethrow) throw err;
      }
    }
  }

  /** Our view of these keys is older than Redis's: take Redis's (we may have missed the message). */
  private async adoptNewer(fingerprints: string[]): Promise<void> {
    const values = await this.conn.client.hmGet(this.keysHash, fingerprints);
    const changes: RemoteKeyChange[] = [];
    for (const v of values) {
      const record = v === null ? undefined : parseRecord(String(v));
      if (record !== undefined) {
        this.local.set(record.fingerprint, record);
        changes.push({ type: 'upsert', record });
      }
    }
    this.deliver(changes);
  }

  private deliver(changes: readonly RemoteKeyChange[]): void {
    for (const change of changes) {
      if (change.type === 'delete') this.local.delete(change.fingerprint);
      else this.local.set(change.record.fingerprint, change.record);
      for (const l of this.listeners) {
        try {
          l(change);
        } catch (err) {
          this.onError(err, 'applying a change from redis failed');
        }
      }
    }
  }
}

function parseAll(hash: Record<string, string>): KeyRecord[] {
  const out: KeyRecord[] = [];
  for (const v of Object.values(hash)) {
    const r = parseRecord(v);
    if (r !== undefined) out.push(r);
  }
  return out;
}

function parseRecord(text: string): KeyRecord | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Shape check only: the pool validates the state itself (persist.ts). */
function asRecord(v: unknown): KeyRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r['fingerprint'] !== 'string' || typeof r['source'] !== 'string' || !SOURCES.has(r['source'])) return undefined;
  const key = typeof r['key'] === 'string' ? r['key'] : null;
  const weight = typeof r['weight'] === 'number' ? r['weight'] : 1;
  return {
    fingerprint: r['fingerprint'],
    key,
    source: r['source'] as KeySource,
    weight,
    ...(typeof r['label'] === 'string' ? { label: r['label'] } : {}),
    state: r['state'],
    updatedAt: typeof r['updatedAt'] === 'number' ? r['updatedAt'] : 0,
  };
}

function asRemoteChange(v: unknown): RemoteKeyChange | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as { type?: unknown; fingerprint?: unknown; record?: unknown };
  if (c.type === 'delete' && typeof c.fingerprint === 'string') return { type: 'delete', fingerprint: c.fingerprint };
  if (c.type === 'upsert') {
    const record = asRecord(c.record);
    return record === undefined ? undefined : { type: 'upsert', record };
  }
  return undefined;
}
