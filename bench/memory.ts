/**
 * `npm run bench:memory -- [--gateway=<dir>,<dir>...] [--rounds=2] [--streams=100] [--split] [--node-args=<flags>]`:
 * the memory of the floor and one or more gateway builds under the load of `npm run bench`, each figure with its ratio
 * to the floor: RSS idle (median over 2 s after a 3 s settle, before any request), peak RSS under throughput
 * (autocannon, 64 connections, the mock answering after 20 ms; VmHWM reset after the warm-up) and peak RSS under
 * streams (a fresh process, N connections of back-to-back streams of 64 deltas 20 ms apart for 8 s, starts spread
 * over 1.28 s). Each subject runs as a fresh process pinned to the last core, the order rotating each round.
 *
 * `--soak=<minutes>`: instead, the first gateway alone under 32 connections of back-to-back streams for that long,
 * its RSS printed every 30 s and 30 s after the load: whether it stays flat.
 *
 * `--split` preloads bench/mem-probe.ts into every subject and prints where its memory is (V8's heap spaces, external,
 * code) idle, at the end of the throughput window and in the middle of the streams. `--node-args` (space-separated)
 * go to the gateways only: a V8 flag measured before it is set in code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { request } from 'undici';
import { CLIENT_KEY, UPSTREAM_KEYS, chatBody, chatHeaders, concurrentStreams, gatewayEnv, percentile, sortedOf, type Target } from './load.js';
import { build, freePort, hasTaskset, peakRssMb, pinSelf, resetPeak, rssMb, rssSampler, sleep, startFlags, startProc, type Proc } from './procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const rounds = Number(arg('rounds') ?? 2);
const streamCount = Number(arg('streams') ?? 100);
const split = process.argv.includes('--split');
const gatewayNodeArgs = (arg('node-args') ?? '').split(' ').filter((a) => a !== '');
const gateways = (arg('gateway') ?? root).split(',').map((d) => resolve(d));
const soakMinutes = Number(arg('soak') ?? 0);
const PLAN = { settleMs: 3000, idleMs: 2000, warmSec: 3, throughputSec: 10, streamSec: 8, rampMs: 64 * 20 };
const log = (msg: string): void => void process.stderr.write(`[memory] ${msg}\n`);

interface Subject {
  label: string;
  script: string;
  nodeArgs: string[];
  env: (port: number, work: string) => Record<string, string>;
}

interface Figures {
  idle: number;
  tput: number;
  streams: number;
  /** streams that failed or had a gap over 40 ms: a peak means little if the subject did not hold them */
  notHeld: number;
  splits: string[];
}

async function mockOptions(mock: Proc, opts: Record<string, number>): Promise<void> {
  const res = await request(`${mock.url}/__mock/options`, { method: 'POST', body: JSON.stringify(opts) });
  await res.body.dump();
}

/** asks the probe in `proc` for one line and returns it, labelled */
async function probe(proc: Proc, file: string, label: string): Promise<string> {
  if (!split) return '';
  const before = safeRead(file).length;
  process.kill(proc.pid, 'SIGUSR2');
  for (let i = 0; i < 50 && safeRead(file).length === before; i++) await sleep(20);
  return `${label}: ${safeRead(file).slice(before).trim()}`;
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function idleRss(p: Proc): Promise<number> {
  await sleep(PLAN.settleMs);
  const xs: number[] = [];
  for (let t = 0; t < PLAN.idleMs; t += 100) {
    xs.push(rssMb(p.pid));
    await sleep(100);
  }
  return percentile(sortedOf(xs), 50);
}

async function measure(s: Subject, core: string | undefined, work: string, mock: Proc, round: number): Promise<Figures> {
  const splits: string[] = [];
  const start = async (tag: string) => {
    const port = await freePort();
    const file = join(work, `probe-${s.label.replace(/\W/g, '_')}-${round}-${tag}.jsonl`);
    const probeArgs = split ? ['--import', join(root, 'bench-results', 'build', 'bench', 'mem-probe.js')] : [];
    const proc = await startProc({
      name: s.label,
      script: s.script,
      env: { ...s.env(port, work), MEM_PROBE_OUT: file },
      port,
      core,
      cwd: work,
      readyPath: '/healthz',
      nodeArgs: [...probeArgs, ...s.nodeArgs],
    });
    return { proc, file };
  };
  // throughput
  await mockOptions(mock, { delayMs: 20, deltas: 1 });
  const a = await start('tput');
  let idle: number;
  let tput: number;
  try {
    idle = await idleRss(a.proc);
    splits.push(await probe(a.proc, a.file, 'idle'));
    const opts = { url: `${a.proc.url}/v1/chat/completions`, method: 'POST' as const, headers: chatHeaders, body: chatBody(false), connections: 64, pipelining: 1 };
    await autocannon({ ...opts, duration: PLAN.warmSec });
    resetPeak(a.proc.pid);
    const sampler = rssSampler(a.proc.pid, 100);
    const run = autocannon({ ...opts, duration: PLAN.throughputSec });
    await sleep((PLAN.throughputSec - 1) * 1000);
    splits.push(await probe(a.proc, a.file, 'under throughput'));
    await run;
    tput = Math.max(sampler.stop(), peakRssMb(a.proc.pid));
  } finally {
    await a.proc.stop();
  }
  // streams, in a fresh process
  await mockOptions(mock, { delayMs: 0, deltas: 64, intervalMs: 20 });
  const b = await start('streams');
  let streams: number;
  let notHeld: number;
  try {
    await sleep(PLAN.settleMs);
    resetPeak(b.proc.pid);
    const sampler = rssSampler(b.proc.pid, 100);
    const target: Target = { name: s.label, kind: 'proxy', url: b.proc.url };
    const run = concurrentStreams(target, streamCount, PLAN.rampMs, PLAN.streamSec * 1000);
    await sleep((PLAN.streamSec / 2) * 1000);
    splits.push(await probe(b.proc, b.file, `under ${streamCount} streams`));
    const results = await run;
    notHeld = results.filter((r) => !r.ok || r.gaps.some((g) => g > 40)).length;
    streams = Math.max(sampler.stop(), peakRssMb(b.proc.pid));
  } finally {
    await b.proc.stop();
  }
  return { idle, tput, streams, notHeld, splits: splits.filter((x) => x !== '') };
}

const median = (xs: number[]): number => percentile(sortedOf(xs), 50);

async function soak(s: Subject, core: string | undefined, work: string, mock: Proc): Promise<void> {
  await mockOptions(mock, { delayMs: 0, deltas: 64, intervalMs: 20 });
  const port = await freePort();
  const proc = await startProc({ name: s.label, script: s.script, env: s.env(port, work), port, core, cwd: work, readyPath: '/healthz', nodeArgs: s.nodeArgs });
  try {
    const idle = await idleRss(proc);
    const t0 = performance.now();
    const samples: string[] = [];
    const sampler = setInterval(() => {
      const line = `${((performance.now() - t0) / 60000).toFixed(1)} min: RSS ${rssMb(proc.pid).toFixed(0)} MB`;
      samples.push(line);
      log(line);
    }, 30_000);
    const results = await concurrentStreams({ name: s.label, kind: 'proxy', url: proc.url }, 32, PLAN.rampMs, soakMinutes * 60_000);
    clearInterval(sampler);
    const under = rssMb(proc.pid);
    await sleep(30_000);
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(
      `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, soak: ${s.label}, ${soakMinutes} min of 32 connections of streams, ${results.length} streams, ${failed} failed\n  idle ${idle.toFixed(0)} MB; ${samples.join('; ')}; at the end ${under.toFixed(0)} MB; 30 s after ${rssMb(proc.pid).toFixed(0)} MB\n`,
    );
  } finally {
    await proc.stop();
  }
}

async function main(): Promise<void> {
  const n = cpus().length;
  const pinned = n >= 2 && hasTaskset() && pinSelf(`0-${n - 2}`);
  const core = pinned ? String(n - 1) : undefined;
  build(root, log);
  const work = mkdtempSync(join(tmpdir(), 'odgw-memory-'));
  const load0 = loadavg()[0]!;
  const mockPort = await freePort();
  const buildDir = join(root, 'bench-results', 'build', 'bench');
  const mock = await startProc({
    name: 'mock',
    script: join(buildDir, 'mock.js'),
    env: { MOCK_PORT: String(mockPort) },
    port: mockPort,
    core: pinned ? `0-${n - 2}` : undefined,
    cwd: work,
    readyPath: '/__mock/options',
  });
  const subjects: Subject[] = [
    {
      label: 'floor',
      script: join(buildDir, 'floor.js'),
      nodeArgs: [],
      env: (port) => ({ FLOOR_PORT: String(port), UPSTREAM_URL: mock.url, UPSTREAM_KEYS: UPSTREAM_KEYS.join(','), CLIENT_KEY }),
    },
    ...gateways.map((dir, i) => ({
      label: dir === root ? 'gateway' : dir,
      script: join(dir, 'dist', 'main.js'),
      // as `npm start` runs that build, then any --node-args
      nodeArgs: [...startFlags(dir), ...gatewayNodeArgs],
      env: (port: number, w: string) => gatewayEnv(mock.url, port, join(w, `data-${i}-${port}`)),
    })),
  ];
  if (soakMinutes > 0) {
    try {
      await soak(subjects[1]!, core, work, mock);
    } finally {
      await mock.stop();
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  const figures = subjects.map(() => [] as Figures[]);
  try {
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < subjects.length; k++) {
        const i = (k + r) % subjects.length;
        const f = await measure(subjects[i]!, core, work, mock, r);
        figures[i]!.push(f);
        log(
          `round ${r + 1}/${rounds} ${subjects[i]!.label}: idle ${f.idle.toFixed(0)}, peak under throughput ${f.tput.toFixed(0)}, under ${streamCount} streams ${f.streams.toFixed(0)} MB (${f.notHeld} not held)`,
        );
        for (const line of f.splits) log(`  ${line}`);
      }
    }
  } finally {
    await mock.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const col = (i: number, key: 'idle' | 'tput' | 'streams'): string => {
    const xs = figures[i]!.map((f) => f[key]);
    const ratios = figures[i]!.map((f, r) => f[key] / figures[0]![r]![key]);
    return `${median(xs).toFixed(0).padStart(4)} MB (${median(ratios).toFixed(2)}x; ${xs.map((x) => x.toFixed(0)).join(' ')})`;
  };
  const lines = subjects.map((s, i) => `  idle ${col(i, 'idle')}  throughput ${col(i, 'tput')}  ${streamCount} streams ${col(i, 'streams')}  ${s.label}`);
  process.stdout.write(
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, memory: ${rounds} rounds${gatewayNodeArgs.length > 0 ? `, gateway node args ${gatewayNodeArgs.join(' ')}` : ''}; load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n${lines.join('\n')}\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
