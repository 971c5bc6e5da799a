/** Shared by the pool's tests: outcomes and a clock that vitest's fake timers drive. */
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import { systemClock, type Clock } from './clock.js';
import type { CallOutcome } from './types.js';

/** vi.useFakeTimers() fakes Date.now and setTimeout underneath; random is pinned so jitter is exact (×1). */
export const testClock: Clock = { ...systemClock, random: () => 0.5 };

export const ok = (latencyMs = 10): CallOutcome => ({ ok: true, latencyMs });

export const failed = (status: number, extra: Partial<UpstreamFailureInit> = {}): CallOutcome => ({
  ok: false,
  failure: new UpstreamFailure(`upstream answered ${status}`, { kind: 'http', phase: 'query', status, ...extra }),
});

export const timedOut = (): CallOutcome => ({
  ok: false,
  failure: new UpstreamFailure('no first byte', { kind: 'first_byte_timeout', phase: 'query' }),
});
