/**
 * Per-request and per-chunk metric updates in plain numbers: prom-client validates and hashes the labels of
 * every `inc`/`observe` (an object per call, a string built per call), which showed in the benchmark's profile
 * (docs/performance.md). These accumulate per label tuple in a TupleMap (the tuples are bounded: routes, capped models, status
 * codes, key fingerprints) and are folded into the prom-client metric in its `collect()` hook, i.e. whenever
 * the registry is read (/metrics, tests). Nothing is lost or approximated: counters get the summed increment,
 * histograms the per-bucket counts, the sum and the count, as if each value had been observed on its own.
 * A tuple is given as its label values in the order of the label names the tally was made with; the label object
 * is built the first time the tuple is seen.
 */
import type { Counter, Histogram } from 'prom-client';
import { type KeyPart, TupleMap } from '../runtime/tuple-map.js';

type Labels = Record<string, string>;

function labelsOf(names: readonly string[], a: KeyPart, b: KeyPart, c: KeyPart): Labels {
  const labels: Labels = {};
  const values = [a, b, c];
  names.forEach((name, i) => {
    labels[name] = String(values[i]);
  });
  return labels;
}

interface CounterEntry {
  labels: Labels;
  n: number;
}

export class PendingCounter {
  private readonly pending = new TupleMap<CounterEntry>();

  /** `labelNames`: at most three, as the counter's */
  constructor(private readonly labelNames: readonly string[]) {}

  add(n: number, a: KeyPart = '', b: KeyPart = '', c: KeyPart = ''): void {
    let e = this.pending.get(a, b, c);
    if (e === undefined) {
      e = { labels: labelsOf(this.labelNames, a, b, c), n: 0 };
      this.pending.set(e, a, b, c);
    }
    e.n += n;
  }

  flush(counter: Counter<string>): void {
    for (const e of this.pending.values()) {
      if (e.n === 0) continue;
      const n = e.n;
      e.n = 0;
      counter.inc(e.labels, n);
    }
  }
}

interface HistogramEntry {
  labels: Labels;
  /** counts[i]: values <= buckets[i] and > buckets[i-1]; the last slot: above every bucket (only in sum/count) */
  counts: number[];
  sum: number;
  count: number;
}

/** prom-client's per-series record (lib/histogram.js createBaseValues), read and updated in flush. */
interface SeriesValues {
  labels: Labels;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

export class PendingHistogram {
  private readonly pending = new TupleMap<HistogramEntry>();

  /** `labelNames`: at most three, as the histogram's */
  constructor(
    private readonly buckets: readonly number[],
    private readonly labelNames: readonly string[],
  ) {}

  observe(value: number, a: KeyPart = '', b: KeyPart = '', c: KeyPart = ''): void {
    if (!Number.isFinite(value)) return;
    let e = this.pending.get(a, b, c);
    if (e === undefined) {
      e = { labels: labelsOf(this.labelNames, a, b, c), counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.pending.set(e, a, b, c);
    }
    const bounds = this.buckets;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    e.counts[i] = (e.counts[i] as number) + 1;
    e.sum += value;
    e.count += 1;
  }

  flush(histogram: Histogram<string>): void {
    for (const e of this.pending.values()) {
      if (e.count === 0) continue;
      const series = seriesOf(histogram, e.labels);
      if (series === undefined) {
        // prom-client's internals changed: observe each bucket's bound instead (counts exact, sum approximate)
        e.counts.forEach((n, i) => {
          const bound = this.buckets[i] ?? this.buckets[this.buckets.length - 1] ?? 0;
          for (let k = 0; k < n; k++) histogram.observe(e.labels, bound);
        });
      } else {
        this.buckets.forEach((bound, i) => {
          series.bucketValues[bound] = (series.bucketValues[bound] ?? 0) + (e.counts[i] as number);
        });
        series.sum += e.sum;
        series.count += e.count;
      }
      e.counts.fill(0);
      e.sum = 0;
      e.count = 0;
    }
  }
}

function seriesOf(histogram: Histogram<string>, labels: Labels): SeriesValues | undefined {
  const find = (): SeriesValues | undefined => {
    const map = (histogram as unknown as { hashMap?: Record<string, SeriesValues> }).hashMap;
    if (map === undefined || map === null) return undefined;
    const names = Object.keys(labels);
    for (const s of Object.values(map)) {
      if (s === undefined || typeof s.bucketValues !== 'object' || typeof s.sum !== 'number') continue;
      const l = s.labels ?? {};
      if (Object.keys(l).length === names.length && names.every((n) => l[n] === labels[n])) return s;
    }
    return undefined;
  };
  const found = find();
  if (found !== undefined) return found;
  histogram.zero(labels);
  return find();
}
