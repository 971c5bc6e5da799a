/** KeyEntry <-> KeyRecord. Stored state is read back defensively: a file from another version must not crash start. */
import { z } from 'zod';
import type { KeyRecord } from '../store/types.js';
import type { KeyEntry } from './entry.js';
import type { KeyState } from './key-state.js';

const num = z.number().finite();
const count = z.number().int().nonnegative();

const keyStateSchema = z.object({
  status: z.enum(['active', 'probation', 'cooling', 'degraded', 'dead', 'disabled']),
  reason: z.string(),
  since: num,
  until: num.nullable(),
  successes: count,
  failures: count,
  consecutiveFailures: count,
  consecutiveRateLimits: count,
  probationSuccesses: count,
  lastLatencyMs: num.nullable(),
  lastError: z.string().nullable(),
  lastSuccessAt: num.nullable(),
  recent: z.array(z.object({ at: num, ok: z.boolean() })),
});

/** The stored state, or null when it is missing or unreadable (the key then starts fresh). */
export function parseKeyState(raw: unknown): KeyState | null {
  const parsed = keyStateSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

export function toRecord(e: KeyEntry, now: number): KeyRecord {
  return {
    fingerprint: e.fingerprint,
    key: e.source === 'admin' ? e.key : null,
    source: e.source,
    weight: e.weight,
    ...(e.label === undefined ? {} : { label: e.label }),
    state: e.state,
    updatedAt: now,
  };
}
