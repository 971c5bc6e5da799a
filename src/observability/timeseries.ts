/**
 * The last hour of API traffic, one bucket per minute, for the dashboard's charts (GET /admin/stats/timeseries).
 * A fixed ring of 60 buckets: recording is a few additions, nothing grows. Latency percentiles come from a small
 * fixed histogram per bucket (the upper bound of the bucket the percentile falls in).
 */

/** Upper bounds in ms of the latency histogram kept per minute; the last one catches everything above. */
export const LATENCY_BOUNDS_MS = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, Infinity] as const;

export interface MinutePoint {
  /** ISO time the minute starts */
  t: string;
  requests: number;
  /** answered with 4xx */
  clientErrors: number;
  /** answered with 5xx (or a stream that failed after it started) */
  serverErrors: number;
  avgMs: number | null;
  p95Ms: number | null;
  avgTtftMs: number | null;
  tokensIn: number;
  tokensOut: number;
}

interface Bucket {
  minute: number;
  requests: number;
  clientErrors: number;
  serverErrors: number;
  durationSum: number;
  ttftSum: number;
  ttftCount: number;
  tokensIn: number;
  tokensOut: number;
  latency: number[];
}

export interface TrafficSample {
  at: number;
  status: number;
  /** the answer failed after it started (the status already said 200) */
  failed: boolean;
  durationMs: number;
  ttftMs?: number | undefined;
  tokensIn: number;
  tokensOut: number;
}

const MINUTE_MS = 60_000;

export class TrafficSeries {
  private readonly buckets: Bucket[];

  constructor(private readonly minutes = 60) {
    this.buckets = Array.from({ length: minutes }, () => emptyBucket(-1));
  }

  record(s: TrafficSample): void {
    const b = this.bucketFor(Math.floor(s.at / MINUTE_MS));
    b.requests++;
    if (s.status >= 500 || s.failed) b.serverErrors++;
    else if (s.status >= 400) b.clientErrors++;
    b.durationSum += s.durationMs;
    b.latency[latencyIndex(s.durationMs)]!++;
    if (s.ttftMs !== undefined) {
      b.ttftSum += s.ttftMs;
      b.ttftCount++;
    }
    b.tokensIn += s.tokensIn;
    b.tokensOut += s.tokensOut;
  }

  /** One point per minute, oldest first, ending with the current minute; empty minutes are zeros. */
  points(now: number): MinutePoint[] {
    const current = Math.floor(now / MINUTE_MS);
    const out: MinutePoint[] = [];
    for (let m = current - this.minutes + 1; m <= current; m++) {
      const b = this.buckets[mod(m, this.minutes)]!;
      out.push(toPoint(b.minute === m ? b : emptyBucket(m), m));
    }
    return out;
  }

  private bucketFor(minute: number): Bucket {
    const i = mod(minute, this.minutes);
    let b = this.buckets[i]!;
    if (b.minute !== minute) {
      b = emptyBucket(minute);
      this.buckets[i] = b;
    }
    return b;
  }
}

function emptyBucket(minute: number): Bucket {
  return {
    minute,
    requests: 0,
    clientErrors: 0,
    serverErrors: 0,
    durationSum: 0,
    ttftSum: 0,
    ttftCount: 0,
    tokensIn: 0,
    tokensOut: 0,
    latency: LATENCY_BOUNDS_MS.map(() => 0),
  };
}

function toPoint(b: Bucket, minute: number): MinutePoint {
  return {
    t: new Date(minute * MINUTE_MS).toISOString(),
    requests: b.requests,
    clientErrors: b.clientErrors,
    serverErrors: b.serverErrors,
    avgMs: b.requests > 0 ? Math.round(b.durationSum / b.requests) : null,
    p95Ms: percentile(b.latency, b.requests, 0.95),
    avgTtftMs: b.ttftCount > 0 ? Math.round(b.ttftSum / b.ttftCount) : null,
    tokensIn: b.tokensIn,
    tokensOut: b.tokensOut,
  };
}

function latencyIndex(ms: number): number {
  let i = 0;
  while (ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

/** The upper bound of the histogram bucket holding the q-quantile; the open top bucket reports its lower bound. */
export function percentile(counts: readonly number[], total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) {
      const bound = LATENCY_BOUNDS_MS[i]!;
      return Number.isFinite(bound) ? bound : LATENCY_BOUNDS_MS[i - 1]!;
    }
  }
  return null;
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}
