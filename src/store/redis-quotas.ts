/**
 * Cluster-wide client limits in Redis, each check one Lua script (atomic across replicas):
 *
 *   <prefix>rpm:<name>        sorted set of request stamps (Redis's own clock), trimmed to the last 60 s
 *   <prefix>tpd:<name>:<day>  tokens used that UTC day, expires after two days
 *
 * This is the one Redis call on the request path (only for a key that has a limit), bounded by the command
 * timeout. When Redis is unreachable or slow the local store counts instead: limits hold per replica during the
 * outage, and tokens counted meanwhile are added to Redis when it is back.
 */
import type { RedisConnection } from './redis-connection.js';
import { dayOf, DAY_MS, MemoryQuotaStore, MINUTE_MS, secondsToNextDay, type QuotaStore, type QuotaVerdict } from './quota-store.js';

const RPM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`;

const TOKENS_SCRIPT = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`;

export class RedisQuotaStore implements QuotaStore {
  private readonly local = new MemoryQuotaStore();
  /** tokens counted while Redis was away: name -> day -> tokens */
  private readonly unsynced = new Map<string, Map<string, number>>();
  private seq = 0;
  private readonly unhook: () => void;

  constructor(private readonly conn: RedisConnection) {
    this.unhook = conn.onUp((recovered) => {
      if (recovered) void this.catchUp();
    });
  }

  async hitMinute(name: string, limit: number, now: number): Promise<QuotaVerdict> {
    if (this.conn.isUp()) {
      try {
        const member = `${this.conn.origin}:${++this.seq}`;
        const [ok, retryMs] = await this.conn.eval<[number, number]>(RPM_SCRIPT, [this.key('rpm', name)], [MINUTE_MS, limit, member]);
        return ok === 1 ? { allowed: true } : { allowed: false, retryAfterSec: Math.max(1, Math.ceil(Number(retryMs) / 1000)) };
      } catch {
        // slow or gone: count locally for this request
      }
    }
    return this.local.hitMinute(name, limit, now);
  }

  async checkDay(name: string, limit: number, now: number): Promise<QuotaVerdict> {
    if (this.conn.isUp()) {
      try {
        const used = Number((await this.conn.client.get(this.dayKey(name, now))) ?? 0) + this.unsyncedToday(name, now);
        return used < limit ? { allowed: true } : { allowed: false, retryAfterSec: secondsToNextDay(now) };
      } catch {
        // fall through to the local count
      }
    }
    return this.local.checkDay(name, limit, now);
  }

  async addTokens(name: string, tokens: number, now: number): Promise<void> {
    if (tokens <= 0) return;
    if (this.conn.isUp()) {
      try {
        await this.conn.eval(TOKENS_SCRIPT, [this.dayKey(name, now)], [Math.round(tokens), 2 * DAY_MS]);
        return;
      } catch {
        // counted locally below
      }
    }
    this.local.addTokens(name, tokens, now);
    const days = this.unsynced.get(name) ?? new Map<string, number>();
    days.set(dayOf(now), (days.get(dayOf(now)) ?? 0) + tokens);
    this.unsynced.set(name, days);
  }

  close(): void {
    this.unhook();
  }

  private async catchUp(): Promise<void> {
    const pending = [...this.unsynced.entries()];
    this.unsynced.clear();
    this.local.clear();
    for (const [name, days] of pending) {
      for (const [day, tokens] of days) {
        try {
          await this.conn.eval(TOKENS_SCRIPT, [`${this.conn.prefix}tpd:${name}:${day}`], [Math.round(tokens), 2 * DAY_MS]);
        } catch {
          // lost for the shared count; the day ends anyway
        }
      }
    }
  }

  private unsyncedToday(name: string, now: number): number {
    return this.unsynced.get(name)?.get(dayOf(now)) ?? 0;
  }

  private key(kind: string, name: string): string {
    return `${this.conn.prefix}${kind}:${name}`;
  }

  private dayKey(name: string, now: number): string {
    return `${this.conn.prefix}tpd:${name}:${dayOf(now)}`;
  }
}
