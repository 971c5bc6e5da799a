/**
 * `npm run bench [-- --quick] [-- --profile] [-- --streams=32,100] [-- --traced | --against=DIR | --fastify-floor]`: the gateway's overhead as a ratio to the floor
 * (bench/floor.ts, a minimal node:http + undici translator making the same two upstream calls) measured in the same
 * run, with the method of the side-by-side harness the README's table comes from (docs/performance.md):
 *
 *   a. added latency at c=1, non-stream: direct (this process makes the session and the sync query itself), the
 *      floor and the gateway alternated request by request; added = a target's percentile minus direct's;
 *   b. closed loop of 64 connections (autocannon), the upstream answering after 20 ms: req/s, p99, CPU time per
 *      request of the proxy process (utime + stime; its share over the warm-up and the window, times the window, over
 *      the window's answers, as the harness's judge reads it), the proxy's peak RSS (warm-up included);
 *   c. added TTFT at c=1 (streams of one delta, direct then each proxy in blocks); then N concurrent connections
 *      (32, 100, 500, 1000), each running streams of 64 deltas 20 ms apart back to back, the first starts spread over
 *      one stream length: held (no failed stream, no gap over 40 ms), the longest gap, TTFT p99, peak RSS;
 *   d. RSS idle (median over 2 s after a 3 s settle, before any request), the peaks under b and c, each in a fresh
 *      process, and 3 s after c.
 * Clients send max_tokens 512 (bench/load.ts). The proxies run pinned to the last core, the mock and this load
 * generator on the others (taskset, when there are 2 cores or more). Loopback only. Prints one table (each figure and
 * its ratio to the floor) and writes bench-results/latest.json. With --profile the proxies write --cpu-prof profiles
 * to bench-results/profiles/ (summarise one with `npx tsx bench/profile-summary.ts <file>`). A third proxy can run in
 * every phase beside the others, each of its figures with its ratio to the gateway's: with --traced the same gateway
 * with OpenTelemetry tracing on (OTLP/protobuf to the mock, the SDK's default batching), with --against=DIR another
 * build of the gateway (DIR/dist/main.js, e.g. the previous commit's, built with its node_modules beside it). With
 * --fastify-floor the third proxy is the floor's translator behind one fastify route (bench/floor-fastify.ts), started
 * as the floor is, and its ratios are to the floor: what serving a request through fastify costs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  type StreamResult,
  type Target,
} from './load.js';
import {
  build,
  cpuModel,
  cpuMs,
  freePort,
  hasTaskset,
  machineTicks,
  peakRssMb,
  pinSelf,
  resetPeak,
  rssMb,
  rssSampler,
  sleep,
  startFlags,
  startProc,
  stealPercent,
  threadCpuBetween,
  threadTimes,
  type Proc,
} from './procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
/**
 * the third proxy: this gateway traced, another build of it, or the floor served by fastify (`floorLike`: started and
 * compared as the floor is); undefined: none
 */
const OTHER: { label: string; script?: string; floorLike?: true } | undefined = process.argv.includes('--traced')
  ? { label: 'traced' }
  : arg('against') !== undefined
    ? { label: 'against', script: join(resolve(arg('against')!), 'dist', 'main.js') }
    : process.argv.includes('--fastify-floor')
      ? { label: 'fastify-floor', floorLike: true }
      : undefined;
/** what the third proxy's figures are divided by */
const OTHER_BASE: ProxyName = OTHER?.floorLike ? 'floor' : 'gateway';

const PLAN = {
  latencySec: quick ? 4 : 10,
  latencyWarmSec: quick ? 1 : 2,
  throughputSec: quick ? 5 : 15,
  throughputWarmSec: quick ? 1 : 3,
  ttftSec: quick ? 3 : 8,
  streamSec: quick ? 3 : 8,
  streamCounts: (arg('streams') ?? '32,100,500,1000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0),
  connections: 64,
  settleMs: 3000,
  idleMs: 2000,
  afterMs: 3000,
};
const UPSTREAM_DELAY_MS = 20;
const DELTAS = 64;
const DELTA_BYTES = 16;
const INTERVAL_MS = 20;
const STALL_MS = 2 * INTERVAL_MS;
const RAMP_MS = DELTAS * INTERVAL_MS;

type ProxyName = 'floor' | 'gateway' | 'other';
const PROXIES: ProxyName[] = OTHER ? ['floor', 'gateway', 'other'] : ['floor', 'gateway'];
const labelOf = (p: ProxyName): string => (p === 'other' ? (OTHER?.label ?? p) : p);

/** `fn` for each proxy in turn, as a record by name */
async function eachProxy<T>(fn: (name: ProxyName) => Promise<T> | T): Promise<Record<ProxyName, T>> {
  const out: Partial<Record<ProxyName, T>> = {};
  for (const p of PROXIES) out[p] = await fn(p);
  return out as Record<ProxyName, T>;
}

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);
const round = (n: number, digits = 2): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : NaN);

async function mockOptions(mock: Proc, opts: Record<string, number>): Promise<void> {
  const res = await request(`${mock.url}/__mock/options`, { method: 'POST', body: JSON.stringify(opts) });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`mock options: ${res.statusCode}`);
}

/** Requests alternated target by target for `seconds` (after a warm-up); p50/p99 of each, in ms. */
async function alternate(targets: Target[], seconds: number, warmSec: number, run: (t: Target, pool: ReturnType<typeof dispatcherFor>) => Promise<number>) {
  const pools = targets.map((t) => dispatcherFor(t, 1));
  const samples = targets.map(() => [] as number[]);
  for (const [phase, sec] of [
    ['warm', warmSec],
    ['measure', seconds],
  ] as const) {
    const end = performance.now() + sec * 1000;
    for (let i = 0; performance.now() < end; i++) {
      for (let j = 0; j < targets.length; j++) {
        const k = (i + j) % targets.length;
        const ms = await run(targets[k]!, pools[k]!);
        if (phase === 'measure') samples[k]!.push(ms);
      }
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  return Object.fromEntries(targets.map((t, k) => [t.name, quantiles(samples[k]!)]));
}

/** TTFT at c=1, one target after the other (streams of one delta keep the loop hot, as in a) */
async function ttftBlocks(targets: Target[], seconds: number, warmSec: number) {
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const t of targets) {
    const pool = dispatcherFor(t, 1);
    const samples: number[] = [];
    for (const [phase, sec] of [
      ['warm', warmSec],
      ['measure', seconds],
    ] as const) {
      const end = performance.now() + sec * 1000;
      while (performance.now() < end) {
        const r = await timedStream(t, pool);
        if (!r.ok) throw new Error(`${t.name}: stream failed: ${r.error}`);
        if (phase === 'measure') samples.push(r.ttftMs);
      }
    }
    await pool.close();
    out[t.name] = quantiles(samples);
  }
  return out;
}

function quantiles(xs: number[]): { p50: number; p99: number } {
  const s = sortedOf(xs);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

interface Throughput {
  rps: number;
  p99: number;
  errors: number;
  cpuMsPerReq: number;
  /** of it, what ran on the process's other threads: V8 compiling and collecting beside the event loop */
  helperCpuMsPerReq: number;
  peakRssMb: number;
  /** % of the machine's CPU time the hypervisor took during the window: a window it slowed says less */
  stealPct: number;
}

async function throughput(proxy: Proc): Promise<Throughput> {
  const opts = { url: `${proxy.url}/v1/chat/completions`, method: 'POST' as const, headers: chatHeaders, body: chatBody(false), connections: PLAN.connections, pipelining: 1 };
  // As the side-by-side harness reads this phase: its CPU meter and peak start before the warm-up, so what a process
  // spends on its first seconds at 64 connections (compiling its hot path again) counts; its judge takes the phase's
  // CPU share times the window over the window's answers (docs/performance.md, "Nineteenth round").
  resetPeak(proxy.pid);
  const sampler = rssSampler(proxy.pid, 100);
  const cpu0 = cpuMs(proxy.pid);
  const threads0 = threadTimes(proxy.pid);
  const ticks0 = machineTicks();
  const phase0 = performance.now();
  await autocannon({ ...opts, duration: PLAN.throughputWarmSec });
  const t0 = performance.now();
  const r = await autocannon({ ...opts, duration: PLAN.throughputSec });
  const wallMs = performance.now() - t0;
  const phaseMs = performance.now() - phase0;
  const cpuShare = (cpuMs(proxy.pid) - cpu0) / phaseMs;
  const helperShare = threadCpuBetween(proxy.pid, threads0, threadTimes(proxy.pid)).otherMs / phaseMs;
  const stealPct = stealPercent(ticks0, machineTicks());
  const ok = r['2xx'];
  return {
    rps: ok / (wallMs / 1000),
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMsPerReq: ok > 0 ? (cpuShare * wallMs) / ok : NaN,
    helperCpuMsPerReq: ok > 0 ? (helperShare * wallMs) / ok : NaN,
    peakRssMb: Math.max(sampler.stop(), peakRssMb(proxy.pid)),
    stealPct,
  };
}

interface StreamRow {
  connections: number;
  streams: number;
  failed: number;
  stalled: number;
  held: boolean;
  ttftP99: number;
  gapMax: number;
  cpuMsPerStream: number;
  peakRssMb: number;
}

async function streams(target: Target, proc: Proc | undefined, n: number): Promise<StreamRow> {
  if (proc) resetPeak(proc.pid);
  const sampler = proc ? rssSampler(proc.pid, 100) : undefined;
  const cpu0 = proc ? cpuMs(proc.pid) : 0;
  const results: StreamResult[] = await concurrentStreams(target, n, RAMP_MS, PLAN.streamSec * 1000);
  const failed = results.filter((r) => !r.ok).length;
  const stalled = results.filter((r) => r.ok && r.gaps.some((g) => g > STALL_MS)).length;
  const gaps = sortedOf(results.flatMap((r) => r.gaps));
  const firstError = results.find((r) => r.error)?.error;
  if (firstError) log(`  ${target.name} ${n} streams: ${failed} failed, e.g. ${firstError}`);
  return {
    connections: n,
    streams: results.length,
    failed,
    stalled,
    held: failed === 0 && stalled === 0,
    ttftP99: percentile(sortedOf(results.map((r) => r.ttftMs)), 99),
    gapMax: gaps.length > 0 ? gaps[gaps.length - 1]! : NaN,
    cpuMsPerStream: proc ? (cpuMs(proc.pid) - cpu0) / results.length : NaN,
    peakRssMb: proc && sampler ? Math.max(sampler.stop(), peakRssMb(proc.pid)) : NaN,
  };
}

/** median RSS over PLAN.idleMs, after PLAN.settleMs, before any request */
async function idleRss(p: Proc): Promise<number> {
  await sleep(PLAN.settleMs);
  const xs: number[] = [];
  for (let t = 0; t < PLAN.idleMs; t += 100) {
    xs.push(rssMb(p.pid));
    await sleep(100);
  }
  return percentile(sortedOf(xs), 50);
}

const CORES = cpus().length;

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  // the proxies on the last core, the mock and the load on the others (read the core count before pinning)
  const pinned = CORES >= 2 && hasTaskset() && pinSelf(`0-${CORES - 2}`);
  const proxyCore = pinned ? String(CORES - 1) : undefined;
  const rigCores = pinned ? `0-${CORES - 2}` : undefined;
  log(pinned ? `pinned: proxies on core ${proxyCore}, mock and load on ${rigCores} (taskset)` : 'NOT pinned (taskset missing or 1 core): figures are noisier');
  build(root, log);
  const buildDir = join(root, 'bench-results', 'build', 'bench');
  const work = mkdtempSync(join(tmpdir(), 'odgw-bench-'));
  const procs = new Set<Proc>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...procs].map((p) => p.stop()));
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  const profileDir = join(root, 'bench-results', 'profiles');
  if (profile) mkdirSync(profileDir, { recursive: true });

  try {
    const mockPort = await freePort();
    const mock = await startProc({
      name: 'mock',
      script: join(buildDir, 'mock.js'),
      env: { MOCK_PORT: String(mockPort) },
      port: mockPort,
      core: rigCores,
      cwd: work,
      readyPath: '/__mock/options',
    });
    procs.add(mock);
    const ports = await eachProxy(() => freePort());
    let runs = 0;
    const start = async (name: ProxyName): Promise<Proc> => {
      const port = ports[name];
      const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
      // the gateway as `npm start` runs it (its node flags); the floor as the shared harness runs it, plain
      const floorLike = name === 'floor' || (name === 'other' && OTHER?.floorLike === true);
      const startedAs = floorLike ? [] : startFlags(name === 'other' && OTHER?.script !== undefined ? resolve(OTHER.script, '..', '..') : root);
      const common = { name, port, core: proxyCore, cwd: work, nodeArgs: [...startedAs, ...profileArgs] };
      const p = floorLike
        ? await startProc({
            ...common,
            script: join(buildDir, name === 'floor' ? 'floor.js' : 'floor-fastify.js'),
            env: { FLOOR_PORT: String(port), UPSTREAM_URL: mock.url, UPSTREAM_KEYS: UPSTREAM_KEYS.join(','), CLIENT_KEY },
            readyPath: '/',
          })
        : await startProc({
            ...common,
            script: name === 'other' && OTHER?.script !== undefined ? OTHER.script : join(root, 'dist', 'main.js'),
            // the settings the shared harness starts it with; the rest are the shipped defaults
            env: {
              ...(name === 'other' && OTHER?.label === 'traced' ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${mock.url}/v1/traces`, OTEL_SERVICE_NAME: 'bench-gateway' } : {}),
              ...gatewayEnv(mock.url, port, join(work, `data-${++runs}`)),
            },
            readyPath: '/healthz',
          });
      procs.add(p);
      return p;
    };
    const stop = async (p: Proc): Promise<void> => {
      await p.stop();
      procs.delete(p);
    };
    const direct: Target = { name: 'direct', kind: 'direct', url: mock.url };
    const target = (name: ProxyName): Target => ({ name, kind: 'proxy', url: `http://127.0.0.1:${ports[name]}` });

    // lifecycle 1: idle RSS, a, b
    await mockOptions(mock, { delayMs: 0, sessionDelayMs: 0, deltas: 1, deltaBytes: DELTA_BYTES, intervalMs: INTERVAL_MS });
    const first = await eachProxy(start);
    const idle = await eachProxy((p) => idleRss(first[p]));
    log(`a. added latency, c=1, ${PLAN.latencySec} s alternating direct / ${PROXIES.map(labelOf).join(' / ')}`);
    const lat = await alternate([direct, ...PROXIES.map(target)], PLAN.latencySec, PLAN.latencyWarmSec, (t, pool) => timedRequest(t, pool));
    await mockOptions(mock, { delayMs: UPSTREAM_DELAY_MS });
    const tput = {} as Record<ProxyName, Throughput>;
    for (const p of PROXIES) {
      log(`b. throughput: ${p}, ${PLAN.connections} connections, ${PLAN.throughputSec} s`);
      tput[p] = await throughput(first[p]);
    }
    await Promise.all(PROXIES.map((p) => stop(first[p])));

    // lifecycle 2, fresh processes: TTFT and streams
    await mockOptions(mock, { delayMs: 0, deltas: 1 });
    const second = await eachProxy(start);
    const idle2 = await eachProxy((p) => idleRss(second[p]));
    log(`c. TTFT c=1, ${PLAN.ttftSec} s each: direct, ${PROXIES.map(labelOf).join(', ')}`);
    const ttft = await ttftBlocks([direct, ...PROXIES.map(target)], PLAN.ttftSec, PLAN.latencyWarmSec);
    await mockOptions(mock, { deltas: DELTAS });
    const rows: Record<string, StreamRow[]> = Object.fromEntries(['direct', ...PROXIES].map((n) => [n, []]));
    for (const n of PLAN.streamCounts) {
      for (const name of ['direct', ...PROXIES] as const) {
        log(`c. ${n} connections of streams: ${name}`);
        rows[name]!.push(await streams(name === 'direct' ? direct : target(name), name === 'direct' ? undefined : second[name], n));
        await sleep(1000);
      }
    }
    await sleep(PLAN.afterMs);
    const after = await eachProxy((p) => rssMb(second[p].pid));

    const report = buildReport({ load0, pinned, idle, idle2, lat, tput, ttft, rows, after });
    process.stdout.write(`${report.text}\n`);
    const outDir = join(root, 'bench-results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report.json, null, 2)}\n`);
    log(`wrote ${join('bench-results', 'latest.json')}`);
  } finally {
    await stopAll();
  }
}

interface Results {
  load0: number;
  pinned: boolean;
  idle: Record<ProxyName, number>;
  idle2: Record<ProxyName, number>;
  lat: Record<string, { p50: number; p99: number }>;
  tput: Record<ProxyName, Throughput>;
  ttft: Record<string, { p50: number; p99: number }>;
  rows: Record<string, StreamRow[]>;
  after: Record<ProxyName, number>;
}

/** what the hypervisor took during each b window: the load average cannot see it, and it slows floor and gateway alike only when it falls in both */
function stealLine(tput: Record<string, Throughput>): string {
  const parts = Object.entries(tput).map(([name, t]) => `${name} ${Number.isFinite(t.stealPct) ? `${round(t.stealPct, 1)} %` : 'unknown'}`);
  const busy = Object.values(tput).some((t) => t.stealPct > 5);
  return `CPU time the host took (steal) during b: ${parts.join(', ')}${busy ? ' (above 5 %: that window says more about the host than the proxy)' : ''}`;
}

function buildReport(r: Results): { text: string; json: unknown } {
  const f = (n: number | undefined, d = 2): string => (n === undefined || !Number.isFinite(n) ? '-' : String(round(n, d)));
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b > 0 && a >= 0 ? `${round(a / b, 2)}x` : '-');
  const other = OTHER?.label;
  const table: string[][] = [['measure', 'direct', 'floor', 'gateway', 'gateway / floor', ...(other ? [other, `${other} / ${OTHER_BASE}`] : [])]];
  /** one row: direct's cell, then each proxy's figure (`of`), the gateway's ratio to the floor, the third proxy's to its base */
  const row = (label: string, d: string, of: (p: ProxyName) => number, digits = 2): void => {
    const cells = [label, d, f(of('floor'), digits), f(of('gateway'), digits), ratio(of('gateway'), of('floor'))];
    if (other) cells.push(f(of('other'), digits), ratio(of('other'), of(OTHER_BASE)));
    table.push(cells);
  };
  const added = (x: Record<string, { p50: number; p99: number }>, name: string, q: 'p50' | 'p99'): number => x[name]![q] - x['direct']![q];
  const us = (ms: number): number => ms * 1000;
  row('a. added latency p50 (µs), c=1', f(us(r.lat['direct']!.p50), 0), (p) => us(added(r.lat, p, 'p50')), 0);
  row('a. added latency p99 (µs), c=1', f(us(r.lat['direct']!.p99), 0), (p) => us(added(r.lat, p, 'p99')), 0);
  row(`b. req/s, ${PLAN.connections} conns, upstream ${UPSTREAM_DELAY_MS} ms`, '-', (p) => r.tput[p].rps, 0);
  row('b. p99 (ms)', '-', (p) => r.tput[p].p99);
  row('b. proxy CPU µs / request', '-', (p) => us(r.tput[p].cpuMsPerReq), 0);
  row('b. of it, on V8 helper threads', '-', (p) => us(r.tput[p].helperCpuMsPerReq), 1);
  row('b. errors', '-', (p) => r.tput[p].errors, 0);
  row('c. added TTFT p50 (µs), c=1', f(us(r.ttft['direct']!.p50), 0), (p) => us(added(r.ttft, p, 'p50')), 0);
  row('c. added TTFT p99 (µs), c=1', f(us(r.ttft['direct']!.p99), 0), (p) => us(added(r.ttft, p, 'p99')), 0);
  const held = (x: StreamRow): string => (x.held ? 'held' : `NO: ${x.stalled} stalled, ${x.failed} failed of ${x.streams}`);
  r.rows['direct']!.forEach((d, i) => {
    const at = (p: ProxyName): StreamRow => r.rows[p]![i]!;
    table.push([`c. ${d.connections} streams`, held(d), held(at('floor')), held(at('gateway')), '', ...(other ? [held(at('other')), ''] : [])]);
    row(`c. ${d.connections} streams: longest gap (ms)`, f(d.gapMax, 1), (p) => at(p).gapMax, 1);
    row(`c. ${d.connections} streams: TTFT p99 (ms)`, f(d.ttftP99, 1), (p) => at(p).ttftP99, 1);
    row(`c. ${d.connections} streams: proxy CPU ms / stream`, '-', (p) => at(p).cpuMsPerStream);
  });
  const peakC = (name: ProxyName): number => Math.max(...r.rows[name]!.map((x) => x.peakRssMb));
  row('d. RSS idle (MB)', '-', (p) => r.idle[p], 0);
  row('d. RSS peak under b (MB)', '-', (p) => r.tput[p].peakRssMb, 0);
  row('d. RSS peak under c (MB)', '-', peakC, 0);
  row(`d. RSS ${PLAN.afterMs / 1000} s after c (MB)`, '-', (p) => r.after[p], 0);

  const targets: Array<[string, string, boolean]> = [];
  const within = (label: string, gw: number, fl: number, max: number): void => void targets.push([`${label} <= ${max}x the floor's`, ratio(gw, fl), gw <= max * fl]);
  within('CPU per request', r.tput.gateway.cpuMsPerReq, r.tput.floor.cpuMsPerReq, 1.3);
  targets.push(["throughput >= 0.9x the floor's", ratio(r.tput.gateway.rps, r.tput.floor.rps), r.tput.gateway.rps >= 0.9 * r.tput.floor.rps]);
  within('peak RSS under b', r.tput.gateway.peakRssMb, r.tput.floor.peakRssMb, 1.5);
  within('peak RSS under c', peakC('gateway'), peakC('floor'), 1.5);
  within('added latency p99', added(r.lat, 'gateway', 'p99'), added(r.lat, 'floor', 'p99'), 1.5);
  within('added TTFT p99', added(r.ttft, 'gateway', 'p99'), added(r.ttft, 'floor', 'p99'), 1.5);
  const heldBy = (name: string): number[] => r.rows[name]!.filter((x) => x.held).map((x) => x.connections);
  targets.push([
    'every stream count the floor holds is held through the gateway',
    `floor [${heldBy('floor').join(', ')}], gateway [${heldBy('gateway').join(', ')}]`,
    heldBy('floor').every((n) => heldBy('gateway').includes(n)),
  ]);

  const machine = {
    nproc: CORES,
    cpu: cpuModel(),
    node: process.version,
    pinned: r.pinned ? `proxies on core ${CORES - 1}, mock and load on cores 0-${CORES - 2} (taskset)` : 'not pinned',
    loadavgBefore: round(r.load0),
    loadavgAfter: round(loadavg()[0]!),
    mode: quick ? 'quick' : 'full',
  };
  const width = table[0]!.map((_, c) => Math.max(...table.map((x) => x[c]!.length)));
  const line = (x: string[]): string => `| ${x.map((cell, c) => cell.padEnd(width[c]!)).join(' | ')} |`;
  const text = [
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}; ${machine.pinned}; ${machine.mode} run`,
    `load average (1 min) before / after: ${machine.loadavgBefore} / ${machine.loadavgAfter}${r.load0 > 0.5 ? ' (other processes were busy: figures are noisy)' : ''}`,
    stealLine(r.tput),
    `upstream: ${UPSTREAM_DELAY_MS} ms in b; streams of ${DELTAS} deltas of ${DELTA_BYTES} bytes every ${INTERVAL_MS} ms; stall = gap > ${STALL_MS} ms; clients send max_tokens 512`,
    '',
    line(table[0]!),
    `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...table.slice(1).map(line),
    '',
    'targets (gateway / floor, same run):',
    ...targets.map(([t, v, met]) => `  [${met ? 'met' : 'NOT met'}] ${t}: ${v}`),
  ].join('\n');
  return { text, json: { machine, plan: PLAN, results: r, targets, date: new Date().toISOString() } };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
