import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PendingCounter, PendingHistogram } from './pending.js';

const BUCKETS = [0.01, 0.1, 1];

describe('pending metrics', () => {
  it('a histogram fed through PendingHistogram reads exactly like one observed value by value', async () => {
    const registry = new Registry();
    const pending = new PendingHistogram(BUCKETS, ['route']);
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
      pending.observe(v, route);
      direct.observe({ route }, v);
    }
    const strip = (m: Awaited<ReturnType<typeof direct.get>>) => m.values.map((x) => ({ ...x, metricName: x.metricName?.replace(/^\w+?_(bucket|sum|count)$/, '$1') }));
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
    // a second read adds nothing twice
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
    pending.observe(0.2, '/a');
    direct.observe({ route: '/a' }, 0.2);
    expect(strip(await viaPending.get())).toEqual(strip(await direct.get()));
  });

  it('a counter gets the summed increments per label tuple', async () => {
    const pending = new PendingCounter(['k']);
    const counter = new Counter({
      name: 'c',
      help: 'x',
      labelNames: ['k'],
      registers: [],
      collect() {
        pending.flush(this);
      },
    });
    pending.add(1, 'a');
    pending.add(4, 'a');
    pending.add(2, 'b');
    const read = async () => Object.fromEntries((await counter.get()).values.map((v) => [v.labels.k, v.value]));
    expect(await read()).toEqual({ a: 5, b: 2 });
    pending.add(1, 'b');
    expect(await read()).toEqual({ a: 5, b: 3 });
  });

  it('labels a tuple of several parts in the order of the label names, numbers as their digits', async () => {
    const pending = new PendingCounter(['route', 'model', 'status']);
    const counter = new Counter({
      name: 'requests',
      help: 'x',
      labelNames: ['route', 'model', 'status'],
      registers: [],
      collect() {
        pending.flush(this);
      },
    });
    pending.add(1, '/v1/chat/completions', 'gpt-4o', 200);
    pending.add(1, '/v1/chat/completions', 'gpt-4o', 200);
    pending.add(1, '/v1/chat/completions', 'gpt-4o', 429);
    const values = (await counter.get()).values.map((v) => ({ ...v.labels, n: v.value }));
    expect(values).toEqual([
      { route: '/v1/chat/completions', model: 'gpt-4o', status: '200', n: 2 },
      { route: '/v1/chat/completions', model: 'gpt-4o', status: '429', n: 1 },
    ]);
  });
});
