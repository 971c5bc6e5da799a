/**
 * A start leaves V8's young generation at its first size (src/runtime/startup-heap.ts): `npm start` in a real
 * process, asked for its heap spaces once it listens (bench/mem-probe.ts, preloaded), and again after a burst of
 * requests, which grows the young generation as V8 always did (the hold ends when the gateway listens).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { CLIENT_KEY, eventually, spawnMain } from './harness.js';

const KEY = 'startup-heap-upstream-key';

interface Probe {
  spaces: Record<string, { used: number; size: number }>;
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ keys: [KEY], deltaIntervalMs: 0 });
});
afterAll(async () => sim.close());

describe('start-up heap', () => {
  it('young space stays at its first size through the start, and grows under load afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odgw-startup-heap-'));
    const probeOut = join(dir, 'probe.jsonl');
    const probe = pathToFileURL(join(import.meta.dirname, '../bench/mem-probe.ts')).href;
    const main = spawnMain(dir, { MEM_PROBE_OUT: probeOut, PRIVATE_KEY: CLIENT_KEY, ONDEMAND_APIKEYS: KEY, ONDEMAND_BASE_URL: sim.url }, [probe]);
    const { child, exited } = main;
    const youngMb = async (n: number): Promise<number> => {
      child.kill('SIGUSR2');
      let lines: string[] = [];
      await eventually(() => {
        lines = readFileSync(probeOut, 'utf8').trim().split('\n');
        expect(lines.length).toBe(n);
      });
      return (JSON.parse(lines[n - 1] as string) as Probe).spaces['new_space']?.size ?? NaN;
    };
    try {
      await eventually(() => expect(main.output()).toContain('ondemand-gateway listening'), 20_000);
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(main.output())?.[1];
      // V8 starts the young generation at 1 MB a semi-space (2 MB committed); a start without the hold left 16 (under
      // tsx, whose loader hands every module over as a new string, up to 8; as `node dist/main.js`, 2-4)
      const atStart = await youngMb(1);
      expect(atStart).toBeLessThanOrEqual(8);
      const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
      const one = async (): Promise<void> => {
        const res = await request(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
          body,
        });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      };
      for (let round = 0; round < 40; round++) await Promise.all(Array.from({ length: 25 }, one));
      expect(await youngMb(2)).toBeGreaterThan(atStart);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
