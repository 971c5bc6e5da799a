import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PendingCounter, PendingHistogram } from './pending.js';

const BUCKETS = [0.01, 0.1, 1];

describe('pending metrics', () => {
  it('a histogram fed through PendingHistogram reads exactly like one observed value by value', async () => {
    const registry = new Registry();
    const pending = new PendingHistogram(BUCKETS);
    const viaPending = new Histogram({
      name: 'via_pending',
      help: 'x',
      labelNames: ['route'],
      buckets: BUCKETS,
      registers: [registry],
      collect() {
        pending.flush(this);
      },
    });
    const direct = new Histogram({ name: 'direct', help: 'x', labelNames: ['route'], buckets: BUCKETS, registers: [registry] });
    const values = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 3, 7];
    for (const [i, v] of values.entries()) {
      const route = i % 2 === 0 ? '/a' : '/b';
      pending.observe(route, () => ({ route }), v);
      direct.observe({ route }, v);
    }
    const strip = (m: Awaited<ReturnType<typeof direct.get>>) => m.values.map((x) => ({ ...x, metricName: x.metricName?.replace(/^\w+?_(bucket|sum|count)$/, '$1') }));
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
    // a second read adds nothing twice
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
    pending.observe('/a', () => ({ route: '/a' }), 0.2);
    direct.observe({ route: '/a' }, 0.2);
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
  });

  it('a counter gets the summed increments per label tuple', async () => {
    const pending = new PendingCounter();
    const counter = new Counter({
      name: 'c',
      help: 'x',
      labelNames: ['k'],
      registers: [],
      collect() {
        pending.flush(this);
      },
    });
    pending.add('a', () => ({ k: 'a' }));
    pending.add('a', () => ({ k: 'a' }), 4);
    pending.add('b', () => ({ k: 'b' }), 2);
    const read = async () => Object.fromEntries((await counter.get()).values.map((v) => [v.labels.k, v.value]));
    expect(await read()).toEqual({ a: 5, b: 2 });
    pending.add('b', () => ({ k: 'b' }));
    expect(await read()).toEqual({ a: 5, b: 3 });
  });
});
