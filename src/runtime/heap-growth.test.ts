import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preload, runNode } from './test-helpers.js';

describe('heap-growth', () => {
  it.each(['main.ts', 'demo.ts'])('is imported by src/%s right after no-pretenuring', (file) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    const imports = source.match(/^import\s.*$/gm)?.slice(0, 2);
    expect(imports).toEqual(["import './runtime/no-pretenuring.js';", "import './runtime/heap-growth.js';"]);
  });

  // the flag works only if V8 reads it at each limit computation: a process that keeps 20 MB live and whose other
  // objects each outlive a few young collections before dying (as a stream's state does) must end with a much smaller
  // old generation with the module than without it (measured: about 55 MB against 127 MB). V8 sizes the heap from
  // timings too, so a machine busy with the other test files can blur one pair: a pair gets two more tries, and a
  // module that does nothing still fails all three.
  it('keeps the old generation near what is live', { retry: 2, timeout: 60_000 }, () => {
    const peakOldSpace = (preloads: string[]) =>
      Number(
        runNode(
          `import v8 from 'node:v8';
           const live = []; for (let i = 0; i < 20_000; i++) live.push({ i, s: 'x'.repeat(1000) + i });
           const ring = new Array(100_000);
           let peak = 0;
           for (let n = 0; n < 3_000_000; n++) {
             ring[n % ring.length] = { n, a: [n, n + 1], s: 'y' + n };
             if (n % 50_000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
           }
           console.log(peak, live.length);`,
          preloads,
        ).split(' ')[0],
      );
    const plain = peakOldSpace([]);
    const tuned = peakOldSpace(preload('./heap-growth.ts'));
    expect(tuned).toBeLessThan(plain * 0.7);
  });
});
