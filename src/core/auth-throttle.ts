/**
 * Slows down key guessing: failed authentications are counted per client address in a fixed window that starts
 * with the first failure. Past the limit the address is refused (429 with Retry-After) for every key, right or
 * wrong, until the window ends, so a guesser learns nothing from the answers; other addresses are unaffected.
 *
 * The pure part (the address's bucket, the count, the verdict) is tested as tables; AuthThrottle keeps the counts
 * in this process's memory. With Redis the counts are shared (src/store/redis-auth-failures.ts feeds `learn`).
 */
import ipaddr from 'ipaddr.js';

/** A client address's failures in its current window. */
export interface FailureCount {
  failures: number;
  /** when the window (and a refusal) ends, epoch ms */
  resetAtMs: number;
}

export interface ThrottleSettings {
  /** failures an address may have in a window; the next request is refused */
  limit: number;
  windowMs: number;
}

/**
 * The bucket an address is counted in: IPv4 as it is (an IPv4-mapped IPv6 address is its IPv4 address), IPv6 by
 * its /64, which one client (one home, one server) usually holds whole and could rotate through.
 */
export function clientBucket(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/** The count after one more failure at `now` (a new window when the last one has ended). */
export function addFailure(count: FailureCount | undefined, now: number, windowMs: number): FailureCount {
  if (count === undefined || count.resetAtMs <= now) return { failures: 1, resetAtMs: now + windowMs };
  return { failures: count.failures + 1, resetAtMs: count.resetAtMs };
}

/** Seconds an address must wait, or 0 when it may try: refused once it has `limit` failures in a live window. */
export function retryAfterSec(count: FailureCount | undefined, now: number, limit: number): number {
  if (count === undefined || count.resetAtMs <= now || count.failures < limit) return 0;
  return Math.max(1, Math.ceil((count.resetAtMs - now) / 1000));
}

/** Counts kept for at most this many addresses; past it the ended windows go, then the oldest. */
const MAX_TRACKED = 50_000;

export interface AuthThrottleEvents {
  onFailure?: () => void;
  onThrottled?: () => void;
}

export class AuthThrottle {
  private readonly counts = new Map<string, FailureCount>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly events: AuthThrottleEvents = {},
  ) {}

  /** No failure counted for any address: every request may try its key. */
  get idle(): boolean {
    return this.counts.size === 0;
  }

  /** 0 when the address may try a key, else the seconds until it may (counted as a refusal). */
  check(bucket: string, now: number): number {
    const wait = retryAfterSec(this.counts.get(bucket), now, this.settings.limit);
    if (wait > 0) this.events.onThrottled?.();
    return wait;
  }

  /** Counts a failed authentication locally; returns the address's count after it. */
  fail(bucket: string, now: number): FailureCount {
    this.events.onFailure?.();
    const next = addFailure(this.counts.get(bucket), now, this.settings.windowMs);
    this.counts.delete(bucket); // re-inserted last: the map's order is the order of last failure
    this.counts.set(bucket, next);
    if (this.counts.size > MAX_TRACKED) this.prune(now);
    return next;
  }

  /** A count known from elsewhere (the shared store, another replica): kept when it is the higher one. */
  learn(bucket: string, count: FailureCount): void {
    const mine = this.counts.get(bucket);
    if (mine !== undefined && mine.resetAtMs >= count.resetAtMs && mine.failures >= count.failures) return;
    this.counts.set(bucket, count);
  }

  get settingsInUse(): ThrottleSettings {
    return this.settings;
  }

  private prune(now: number): void {
    for (const [bucket, count] of this.counts) if (count.resetAtMs <= now) this.counts.delete(bucket);
    for (const bucket of this.counts.keys()) {
      if (this.counts.size <= MAX_TRACKED) break;
      this.counts.delete(bucket);
    }
  }
}

/** Where failures are counted: this process only, or shared by every replica (Redis). */
export interface AuthFailureCounter {
  readonly throttle: AuthThrottle;
  /** Counts one failure; resolves with the address's count across every replica that shares it. */
  recordFailure(bucket: string, now: number): Promise<FailureCount> | FailureCount;
}

export function localFailureCounter(throttle: AuthThrottle): AuthFailureCounter {
  return { throttle, recordFailure: (bucket, now) => throttle.fail(bucket, now) };
}

/** Keys that are short or that guessers try first; the start warns about them. */
const COMMON_KEYS = new Set([
  '123456',
  '12345678',
  '123456789',
  '1234567890',
  'password',
  'password1',
  'passw0rd',
  'qwerty',
  'qwerty123',
  'abc123',
  '111111',
  'letmein',
  'admin',
  'admin123',
  'administrator',
  'root',
  'secret',
  'changeme',
  'welcome',
  'iloveyou',
  'test',
  'test123',
  'sk-123456',
  'sk-1234',
  'sk-test',
  'private_key',
  'private-key',
  'privatekey',
  'apikey',
  'api_key',
  'api-key',
  'your-key',
  'your_key',
  'your-secret-key',
  'mykey',
  'default',
  'gateway',
  'ondemand',
]);

/** Shorter keys than this are guessable in days at the throttle's pace; the start warns. */
export const MIN_KEY_LENGTH = 16;

/** Why a key is weak (for a start-up warning), or undefined. Never returns the key itself. */
export function weakKeyReason(key: string): string | undefined {
  if (COMMON_KEYS.has(key.toLowerCase())) return 'is a common password';
  if (key.length < MIN_KEY_LENGTH) return `is shorter than ${MIN_KEY_LENGTH} characters`;
  if (new Set(key).size <= 2) return 'repeats one or two characters';
  return undefined;
}
