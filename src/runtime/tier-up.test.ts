import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preload, runNode } from './test-helpers.js';
import { INTERRUPT_BUDGET, MAGLEV_INVOCATIONS, TURBOFAN_INVOCATIONS, TURBOFAN_INVOCATIONS_WITHOUT_MAGLEV, tierUpFlags, WASM_TIERING_BUDGET } from './tier-up.js';

const v8Major = Number.parseInt(process.versions.v8, 10);
const onV8Eleven = v8Major === 11;

describe('tier-up', () => {
  it.each([
    ['11.3.244.8-node.33', [`--interrupt-budget=${INTERRUPT_BUDGET}`, `--wasm-tiering-budget=${WASM_TIERING_BUDGET}`]],
    ['12.4.254.21-node.33', [`--invocation-count-for-turbofan=${TURBOFAN_INVOCATIONS_WITHOUT_MAGLEV}`]],
    ['13.6.233.17-node.40', [`--invocation-count-for-maglev=${MAGLEV_INVOCATIONS}`, `--invocation-count-for-turbofan=${TURBOFAN_INVOCATIONS}`]],
    ['14.1.146.11-node.12', []],
  ] as const)('V8 %s: %j', (version, expected) => {
    expect([...tierUpFlags(version).values()]).toEqual(expected);
  });

  it('names each flag as an operator would set it (their own wins)', () => {
    for (const version of ['11.3.244.8-node.33', '12.4.254.21-node.33', '13.6.233.17-node.40']) {
      for (const [name, flag] of tierUpFlags(version)) expect(flag.startsWith(`--${name}=`)).toBe(true);
    }
  });

  it.each(['main.ts', 'demo.ts'])('is imported by src/%s after heap-growth', (file) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    expect(source.match(/^import\s.*$/gm)?.[2]).toBe("import './runtime/tier-up.js';");
  });

  // how many calls of a small loop V8 needs before TurboFan has optimized it, with the module loaded first or not
  // (compiled on the main thread, so the count does not depend on a background thread's timing); `turboFanned` is
  // the bit of %GetOptimizationStatus that says so: "optimized" on V8 11, which has no other optimizing tier, and
  // "TurboFanned" on V8 13, where Maglev comes first
  const callsUntilOptimized = (preloads: string[], turboFanned: number) =>
    Number(
      runNode(
        `function sum(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
         const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
         let calls = 0;
         while (calls < 20000 && (%GetOptimizationStatus(sum) & ${turboFanned}) === 0) { sum(a); calls++; }
         console.log(calls);`,
        preloads,
        ['--allow-natives-syntax', '--no-concurrent-recompilation'],
      ).trim(),
    );
  const withModule = preload('./tier-up.ts');

  // measured on Node 20: 215 calls at V8's budget, 60 with the module
  it.skipIf(!onV8Eleven)(
    'makes V8 11 optimize a hot function after fewer calls',
    () => {
      expect(callsUntilOptimized([], 16)).toBeGreaterThanOrEqual(120);
      expect(callsUntilOptimized(withModule, 16)).toBeLessThan(120);
    },
    60_000,
  );

  // measured on Node 24: 1,625 calls at V8's counts, 116 with the module
  it.skipIf(v8Major !== 13)(
    'makes V8 13 give a hot function to TurboFan after fewer calls',
    () => {
      expect(callsUntilOptimized([], 64)).toBeGreaterThanOrEqual(800);
      expect(callsUntilOptimized(withModule, 64)).toBeLessThan(800);
    },
    60_000,
  );

  // V8's compiler memory at its peak after three responses parsed by undici (llhttp in WebAssembly), in MB: TurboFan
  // compiling the parser takes about 33 MB, so the peak says whether it ran (waits up to `waitMs` for it to show)
  const compilerPeakAfterThreeResponses = (preloads: string[], waitMs: number) =>
    Number(
      runNode(
        `import http from 'node:http';
         import { getHeapStatistics } from 'node:v8';
         import { Pool } from 'undici';
         const server = http.createServer((req, res) => res.end('{"ok":true}')).listen(0, '127.0.0.1');
         await new Promise((r) => server.once('listening', r));
         const pool = new Pool('http://127.0.0.1:' + server.address().port);
         for (let i = 0; i < 3; i++) await (await pool.request({ method: 'GET', path: '/' })).body.text();
         const peak = () => getHeapStatistics().peak_malloced_memory / 1048576;
         const until = Date.now() + ${waitMs};
         while (peak() < 20 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
         console.log(peak().toFixed(1));
         process.exit(0);`,
        preloads,
        ['--v8-pool-size=1'],
      ).trim(),
    );

  // measured on Node 20: 36.8 MB within two seconds at V8's budget, 2.2 MB with the module
  it.skipIf(!onV8Eleven)(
    "leaves undici's parser to Liftoff through a start's few upstream calls on V8 11",
    () => {
      expect(compilerPeakAfterThreeResponses([], 15_000)).toBeGreaterThan(20);
      expect(compilerPeakAfterThreeResponses(withModule, 3_000)).toBeLessThan(20);
    },
    60_000,
  );
});
