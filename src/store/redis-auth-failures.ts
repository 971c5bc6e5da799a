/**
 * Failed authentications counted across replicas in Redis, one Lua script a failure (count and expiry atomic):
 *
 *   <prefix>authfail:<address bucket>   failures in the window that began with the first, expires with the window
 *
 * The check on every request stays local (no Redis call on the hot path): a replica learns an address's shared
 * count from each failure it counts, and the replica that sees an address pass the limit tells the others on the
 * events channel. When Redis is unreachable or slow the failure is counted locally only.
 */
import type { AuthFailureCounter, AuthThrottle, FailureCount } from '../core/auth-throttle.js';
import type { RedisConnection } from './redis-connection.js';

const COUNT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`;

const MESSAGE = 'auth-throttle';

export class RedisAuthFailureCounter implements AuthFailureCounter {
  private readonly unhook: () => void;

  constructor(
    private readonly conn: RedisConnection,
    readonly throttle: AuthThrottle,
  ) {
    this.unhook = conn.onMessage((m) => {
      const msg = m as { t?: unknown; b?: unknown; n?: unknown; r?: unknown };
      if (msg.t !== MESSAGE || typeof msg.b !== 'string' || typeof msg.n !== 'number' || typeof msg.r !== 'number') return;
      throttle.learn(msg.b, { failures: msg.n, resetAtMs: msg.r });
    });
  }

  async recordFailure(bucket: string, now: number): Promise<FailureCount> {
    const local = this.throttle.fail(bucket, now);
    if (!this.conn.isUp()) return local;
    const { limit, windowMs } = this.throttle.settingsInUse;
    try {
      const [n, ttl] = await this.conn.eval<[number, number]>(COUNT_SCRIPT, [`${this.conn.prefix}authfail:${bucket}`], [windowMs]);
      const shared = { failures: Number(n), resetAtMs: now + Number(ttl) };
      this.throttle.learn(bucket, shared);
      // the replica whose failure reaches the limit tells the others, once a window
      if (shared.failures === limit) void this.conn.publish({ t: MESSAGE, b: bucket, n: shared.failures, r: shared.resetAtMs }).catch(() => {});
      return shared.failures >= local.failures ? shared : local;
    } catch {
      return local; // slow or gone: this replica's own count stands
    }
  }

  close(): void {
    this.unhook();
  }
}
