/**
 * The auth throttle's wiring (src/core/auth-throttle.ts): counted in memory, or across replicas when Redis is
 * configured; its refusals counted in Prometheus; and the start-up warning about guessable keys.
 */
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { type AuthFailureCounter, AuthThrottle, localFailureCounter, weakKeyReason } from '../core/auth-throttle.js';
import { RedisAuthFailureCounter } from '../store/redis-auth-failures.js';
import type { RedisConnection } from '../store/redis-connection.js';

export interface AuthGuard {
  counter: AuthFailureCounter | undefined;
  close(): void;
}

export function createAuthGuard(config: Pick<Config, 'AUTH_FAILURE_LIMIT' | 'AUTH_FAILURE_WINDOW_SEC'>, redis: RedisConnection | undefined, registry: Registry): AuthGuard {
  if (config.AUTH_FAILURE_LIMIT === 0) return { counter: undefined, close: () => undefined };
  const failures = new Counter({
    name: 'gateway_auth_failures_total',
    help: 'Requests refused 401 for a wrong key (counted per client address by the auth throttle)',
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'gateway_auth_throttled_total',
    help: 'Requests refused 429 because their address had too many failed authentications (AUTH_FAILURE_LIMIT)',
    registers: [registry],
  });
  const throttle = new AuthThrottle(
    { limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_SEC * 1000 },
    { onFailure: () => failures.inc(), onThrottled: () => throttled.inc() },
  );
  if (redis === undefined) return { counter: localFailureCounter(throttle), close: () => undefined };
  const shared = new RedisAuthFailureCounter(redis, throttle);
  return { counter: shared, close: () => shared.close() };
}

/** One warning line per weak client or admin key, naming where it is set (never the key). */
export function weakKeyWarnings(keys: ReadonlyArray<{ key: string; setting: string }>): string[] {
  const lines: string[] = [];
  for (const { key, setting } of keys) {
    const reason = weakKeyReason(key);
    if (reason !== undefined) lines.push(`a key in ${setting} ${reason}: anyone who can reach the gateway may guess it; use a long random key (openssl rand -hex 24)`);
  }
  return [...new Set(lines)];
}
