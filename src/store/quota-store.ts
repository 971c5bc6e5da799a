/**
 * Where client limits are counted. Requests a minute: a sliding 60 s window (exactly N in any 60 s, no burst of
 * 2N across a window boundary). Tokens a day: a UTC calendar day, counted after each answer from its usage (so
 * the answer that crosses the limit is served; the next request is refused).
 *
 * The local store counts in this process's memory: the single-instance store, and the fallback of the Redis one
 * while Redis is unreachable (limits are then per replica until it is back).
 */
import type { MaybePromise } from './types.js';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export interface QuotaVerdict {
  allowed: boolean;
  /** when refused: seconds until a retry can succeed */
  retryAfterSec?: number;
}

export interface QuotaStore {
  /** Counts one request against `limit` requests a minute, or refuses it (and then does not count it). */
  hitMinute(name: string, limit: number, now: number): MaybePromise<QuotaVerdict>;
  /** Whether `name` is still under `limit` tokens today (nothing is counted). */
  checkDay(name: string, limit: number, now: number): MaybePromise<QuotaVerdict>;
  addTokens(name: string, tokens: number, now: number): MaybePromise<void>;
  close(): MaybePromise<void>;
}

/** "20250131" for the UTC day of `now`. */
export function dayOf(now: number): string {
  return new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
}

export function secondsToNextDay(now: number): number {
  return Math.max(1, Math.ceil((DAY_MS - (now % DAY_MS)) / 1000));
}

export class MemoryQuotaStore implements QuotaStore {
  private readonly minute = new Map<string, number[]>();
  private readonly day = new Map<string, { day: string; tokens: number }>();

  hitMinute(name: string, limit: number, now: number): QuotaVerdict {
    const log = (this.minute.get(name) ?? []).filter((t) => t > now - MINUTE_MS);
    this.minute.set(name, log);
    if (log.length < limit) {
      log.push(now);
      return { allowed: true };
    }
    const oldest = log[0] ?? now;
    return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((oldest + MINUTE_MS - now) / 1000)) };
  }

  checkDay(name: string, limit: number, now: number): QuotaVerdict {
    return this.tokensToday(name, now) < limit ? { allowed: true } : { allowed: false, retryAfterSec: secondsToNextDay(now) };
  }

  addTokens(name: string, tokens: number, now: number): void {
    const d = dayOf(now);
    const cur = this.day.get(name);
    this.day.set(name, { day: d, tokens: (cur?.day === d ? cur.tokens : 0) + tokens });
  }

  tokensToday(name: string, now: number): number {
    const cur = this.day.get(name);
    return cur !== undefined && cur.day === dayOf(now) ? cur.tokens : 0;
  }

  /** Forgets everything (the Redis store calls this when Redis is back and counts again). */
  clear(): void {
    this.minute.clear();
    this.day.clear();
  }

  close(): void {}
}
