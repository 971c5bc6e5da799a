/**
 * `npm run bench:compare -- [--gateway=<dir>,<dir>...] [--mode=plain|stream] [--window=warm|harness] [--count=cpu|instructions|misses]`: the floor
 * and one or more gateway builds under the same load, each figure with its ratio to the floor: the tool behind every
 * before/after figure in docs/performance.md. A gateway build is a directory holding dist/main.js that reaches a
 * node_modules (this checkout by default; e.g. a copy of an older commit's dist/ next to a symlink to node_modules),
 * labelled by its path.
 *
 * - `--count=cpu` (default): `--rounds` rounds; in each, the floor and every build run in turn (the order rotates),
 *   each a fresh process pinned to the last core: a warm-up, then a window in which its utime + stime is read. Plain:
 *   autocannon at 64 connections, the mock answering after 20 ms (phase b of `npm run bench`), warm-up and window in
 *   one run on the same connections (what a request costs once the process is warm); with `--window=harness`, the
 *   shared harness's phase instead (12 s at one connection, then its separate warm-up and a 15 s window, the CPU read
 *   over both as its judge reads it: what a fresh process costs, its first seconds at 64 connections included); stream: 32 connections of
 *   back-to-back streams of 64 deltas 20 ms apart. Medians over the rounds, and the median of the
 *   per-round ratios to the floor (a busy machine moves all of a round together).
 * - `--count=instructions`: each process alone under `valgrind --tool=callgrind --instr-atstart=no`: `--warm`
 *   requests with the instrumentation off (the JIT settles), then `--requests` counted (about 50× slower). All
 *   threads count, as utime + stime does; the kernel's share does not. Repeatable to about 3 %, where CPU time moves
 *   by ±20 % on this machine; but valgrind slows the process 50×, which changes when collections happen relative
 *   to the requests, so a change to what survives a collection is measured with `--count=cpu`, not here.
 *   `--callgrind-out=<dir>` keeps the files for callgrind_annotate.
 * - `--count=misses`: the same run with callgrind's cache and branch simulation, the last level simulated as this
 *   machine's per-core L2 (read from /sys): first-level cache misses, misses past the L2 and mispredicted branches per
 *   request beside the instructions. What a request costs in time beyond its instructions is mostly these.
 *
 * Clients send max_tokens 512, as in `npm run bench`. Loopback only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { request } from 'undici';
import {
  CLIENT_KEY,
  UPSTREAM_KEYS,
  chatBody,
  chatHeaders,
  concurrentStreams,
  dispatcherFor,
  gatewayEnv,
  percentile,
  sortedOf,
  timedRequest,
  timedStream,
  type Target,
} from './load.js';
import { type Counts, countsOf, dumpTotals, l2Flag } from './callgrind-counts.js';
import { build, cpuMs, freePort, hasTaskset, pinSelf, sleep, startFlags, startProc, type Proc } from './procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const mode = arg('mode') === 'stream' ? 'stream' : 'plain';
const countArg = arg('count');
const count = countArg === 'instructions' || countArg === 'misses' ? countArg : 'cpu';
const rounds = Number(arg('rounds') ?? 5);
/** plain only: `warm` (the window inside a warm process's load) or `harness` (the shared harness's phase b) */
const harnessWindow = mode === 'plain' && arg('window') === 'harness';
const seconds = Number(arg('seconds') ?? (harnessWindow ? 15 : 10));
const warmSeconds = Number(arg('warm-seconds') ?? 3);
const requests = Number(arg('requests') ?? (mode === 'stream' ? 300 : 2000));
const warm = Number(arg('warm') ?? (mode === 'stream' ? 1000 : 10000));
const connections = Number(arg('connections') ?? (mode === 'stream' ? 32 : 64));
const gateways = (arg('gateway') ?? root).split(',').map((d) => resolve(d));
const keepDir = arg('callgrind-out');
const log = (msg: string): void => void process.stderr.write(`[compare] ${msg}\n`);

interface Subject {
  label: string;
  script: string;
  /** a gateway runs with its `npm start` flags, as it ships (the instruction counts set their own) */
  nodeArgs: string[];
  env: (port: number, work: string) => Record<string, string>;
}

async function mockOptions(mock: Proc, opts: Record<string, number>): Promise<void> {
  const res = await request(`${mock.url}/__mock/options`, { method: 'POST', body: JSON.stringify(opts) });
  await res.body.dump();
}

/** `n` requests (or streams) over `c` connections, each lane one after the other. */
async function drive(target: Target, n: number, c: number): Promise<void> {
  const pool = dispatcherFor(target, c);
  let left = n;
  const lane = async (): Promise<void> => {
    while (left-- > 0) {
      if (mode === 'plain') await timedRequest(target, pool);
      else {
        const r = await timedStream(target, pool);
        if (!r.ok) throw new Error(`${target.name}: ${r.error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: c }, lane));
  await pool.close();
}

/** Streams for `sec` seconds; how many were answered. */
async function streamsFor(target: Target, sec: number): Promise<number> {
  return (await concurrentStreams(target, connections, 20 * 64, sec * 1000)).filter((r) => r.ok).length;
}

/** autocannon's options for plain chat requests to `target` (connections and duration are the caller's) */
function plainLoad(target: Target) {
  return { url: `${target.url}/v1/chat/completions`, method: 'POST' as const, headers: chatHeaders, body: chatBody(false), pipelining: 1 };
}

/**
 * Plain: one autocannon run of warm-up + window, the CPU time and the answers read at the window's two ends, so the
 * window sits inside the same load on the same connections. A fresh set of connections right before the window
 * would put a one-time cost in it: the first close of connections the process served under load deoptimizes much
 * of its hot path once, and the recompiling takes seconds of extra CPU (docs/performance.md, "Eighteenth round").
 */
async function plainWindow(target: Target, pid: number): Promise<{ n: number; cpu: number; ms: number }> {
  let answered = 0;
  const opts = { ...plainLoad(target), connections, duration: warmSeconds + seconds + 1 };
  // the callback form returns the running instance, whose responses are counted as they come
  const finished = new Promise<void>((resolve, reject) => {
    const run = autocannon(opts, (err) => (err ? reject(err) : resolve()));
    run.on('response', (_client, status) => {
      if (status >= 200 && status < 300) answered++;
    });
  });
  await sleep(warmSeconds * 1000);
  const cpu0 = cpuMs(pid);
  const n0 = answered;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const window = { n: answered - n0, cpu: cpuMs(pid) - cpu0, ms: performance.now() - t0 };
  await finished;
  return window;
}

/** the harness's phase a, before its phase b: one connection against a mock answering at once */
const ONE_CONNECTION_SECONDS = 12;

/**
 * `--window=harness`: phase b as the shared harness reads it, from a fresh process. First its phase a's load (one
 * connection, the mock answering at once), then autocannon's separate warm-up and the window at 64 connections
 * against the 20 ms mock. The CPU is read over warm-up and window, and divided as its judge divides it: the phase's
 * CPU share times the window's length, over the window's answers. So what a process spends in its first seconds at
 * 64 connections (compiling its hot path again) counts, as it does there (docs/performance.md, "Nineteenth round").
 */
async function harnessPhase(target: Target, pid: number, mock: Proc): Promise<{ n: number; cpu: number; ms: number }> {
  const opts = plainLoad(target);
  await mockOptions(mock, { delayMs: 0, deltas: 1 });
  await autocannon({ ...opts, connections: 1, duration: ONE_CONNECTION_SECONDS });
  await mockOptions(mock, { delayMs: 20, deltas: 1 });
  const cpu0 = cpuMs(pid);
  const phase0 = performance.now();
  await autocannon({ ...opts, connections, duration: warmSeconds });
  const t0 = performance.now();
  const r = await autocannon({ ...opts, connections, duration: seconds });
  const ms = performance.now() - t0;
  const share = (cpuMs(pid) - cpu0) / (performance.now() - phase0);
  return { n: r['2xx'], cpu: share * ms, ms };
}

async function cpuPerRequest(s: Subject, core: string | undefined, work: string, mock: Proc): Promise<{ us: number; rate: number }> {
  const port = await freePort();
  const proc = await startProc({ name: s.label, script: s.script, env: s.env(port, work), port, core, cwd: work, readyPath: '/healthz', nodeArgs: s.nodeArgs });
  try {
    const target: Target = { name: s.label, kind: 'proxy', url: proc.url };
    if (mode === 'plain') {
      const w = harnessWindow ? await harnessPhase(target, proc.pid, mock) : await plainWindow(target, proc.pid);
      return { us: (w.cpu * 1000) / w.n, rate: w.n / (w.ms / 1000) };
    }
    await streamsFor(target, warmSeconds);
    const cpu0 = cpuMs(proc.pid);
    const t0 = performance.now();
    const n = await streamsFor(target, seconds);
    const ms = performance.now() - t0;
    return { us: ((cpuMs(proc.pid) - cpu0) * 1000) / n, rate: n / (ms / 1000) };
  } finally {
    await proc.stop();
  }
}

/** vgdb names its pipes after the HOST and USER of the process it talks to: callgrind_control gets the proxy's env */
function callgrind(pid: number, env: Record<string, string>, ...args: string[]): void {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** the event totals of the dump callgrind_control -d just wrote (the newest `<prefix>.<n>` file) */
function lastDumpTotals(dir: string, prefix: string): Map<string, number> {
  const dumps = readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  return dumpTotals(readFileSync(join(dir, dumps[dumps.length - 1]!), 'utf8'));
}

/** the simulated last level as this machine's per-core L2, when /sys describes one (index2 usually is; l2Flag checks its level) */
function l2Geometry(): string[] {
  try {
    const flag = l2Flag((file) => readFileSync(join('/sys/devices/system/cpu/cpu0/cache/index2', file), 'utf8'));
    return flag === undefined ? [] : [flag];
  } catch {
    return [];
  }
}

async function countsPerRequest(s: Subject, i: number, core: string | undefined, work: string): Promise<Counts> {
  const port = await freePort();
  const out = keepDir ?? work;
  const prefix = `callgrind.${i}`;
  const env = s.env(port, work);
  const proc = await startProc({
    name: s.label,
    script: s.script,
    env,
    port,
    core,
    cwd: work,
    readyPath: '/healthz',
    readyTimeoutMs: count === 'misses' ? 600_000 : 180_000, // the cache simulation slows the start-up too
    wrapper: [
      'valgrind',
      '--tool=callgrind',
      '--instr-atstart=no',
      ...(count === 'misses' ? ['--cache-sim=yes', '--branch-sim=yes', ...l2Geometry()] : []),
      `--callgrind-out-file=${join(out, `${prefix}.%p`)}`,
    ],
    // no background threads: under valgrind they starve behind the main thread, so code would be optimized late
    // and collections would run at other moments than natively; one thread is also what makes counts repeatable.
    // and no memory reducer: it judges idleness by bytes allocated per millisecond, and 50× slower it would see an
    // idle process and run full collections the native process does not.
    // JIT code has no symbols: with a kept dump, node writes /tmp/perf-<pid>.map, which names it (bench/callgrind-js.ts)
    nodeArgs: ['--single-threaded', '--no-memory-reducer', ...(keepDir === undefined ? [] : ['--perf-basic-prof'])],
  });
  try {
    const target: Target = { name: s.label, kind: 'proxy', url: proc.url };
    log(`${s.label}: ${warm} to warm up, then ${requests} counted`);
    await drive(target, warm, connections);
    callgrind(proc.pid, env, '-z');
    callgrind(proc.pid, env, '-i', 'on');
    await drive(target, requests, connections);
    callgrind(proc.pid, env, '-i', 'off');
    callgrind(proc.pid, env, '-d');
    return countsOf(lastDumpTotals(out, `${prefix}.${proc.pid}`), requests);
  } finally {
    await proc.stop();
  }
}

const median = (xs: number[]): number => percentile(sortedOf(xs), 50);

async function main(): Promise<void> {
  const n = cpus().length;
  const pinned = n >= 2 && hasTaskset() && pinSelf(`0-${n - 2}`);
  const core = pinned ? String(n - 1) : undefined;
  build(root, log);
  const work = mkdtempSync(join(tmpdir(), 'odgw-compare-'));
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
      nodeArgs: startFlags(dir),
      env: (port: number, w: string) => gatewayEnv(mock.url, port, join(w, `data-${i}-${port}`)),
    })),
  ];
  const lines: string[] = [];
  try {
    await mockOptions(mock, mode === 'plain' ? { delayMs: 20, deltas: 1 } : { delayMs: 0, deltas: 64, intervalMs: 20 });
    if (count !== 'cpu') {
      const counted: Counts[] = [];
      for (const [i, s] of subjects.entries()) counted.push(await countsPerRequest(s, i, core, work));
      const unit = mode === 'plain' ? 'request' : 'stream';
      const kinds = count === 'misses' ? (['instructions', 'l1Misses', 'l2Misses', 'mispredicts'] as const) : (['instructions'] as const);
      const names = { instructions: 'instructions', l1Misses: 'L1 misses', l2Misses: 'misses past L2', mispredicts: 'mispredicted branches' };
      subjects.forEach((s, i) =>
        lines.push(
          `  ${kinds.map((k) => `${(counted[i]![k] / 1000).toFixed(k === 'instructions' ? 0 : 2).padStart(7)} k ${names[k]} (${(counted[i]![k] / counted[0]![k]).toFixed(3)}x)`).join(', ')} / ${unit}  ${s.label}`,
        ),
      );
    } else {
      const us = subjects.map(() => [] as number[]);
      const rate = subjects.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < subjects.length; k++) {
          const i = (k + r) % subjects.length;
          const m = await cpuPerRequest(subjects[i]!, core, work, mock);
          us[i]!.push(m.us);
          rate[i]!.push(m.rate);
        }
        log(
          `round ${r + 1}/${rounds}: ${subjects.map((s, i) => `${s.label} ${us[i]![r]!.toFixed(0)} µs, ${rate[i]![r]!.toFixed(0)}/s`).join('; ')} (load ${loadavg()[0]!.toFixed(1)})`,
        );
      }
      const ratios = (xs: number[][], i: number): number[] => xs[i]!.map((x, r) => x / xs[0]![r]!);
      subjects.forEach((s, i) =>
        lines.push(
          `  CPU ${median(us[i]!).toFixed(0).padStart(5)} µs / ${mode === 'plain' ? 'request' : 'stream'} (${median(ratios(us, i)).toFixed(2)}x, rounds ${ratios(us, i)
            .map((x) => x.toFixed(2))
            .join(' ')}), ${median(rate[i]!).toFixed(0)}/s (${median(ratios(rate, i)).toFixed(2)}x)  ${s.label}`,
        ),
      );
    }
  } finally {
    await mock.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const what =
    count !== 'cpu'
      ? `${requests} counted after ${warm}`
      : harnessWindow
        ? `${rounds} rounds of the harness's phase (${ONE_CONNECTION_SECONDS} s at c=1, then ${warmSeconds} s + ${seconds} s, the warm-up's CPU counted)`
        : `${rounds} rounds of ${seconds} s after ${warmSeconds} s`;
  process.stdout.write(
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${mode}, ${count}: ${what}, ${connections} connections; load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n${lines.join('\n')}\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
