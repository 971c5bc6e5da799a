/**
 * `npm run bench [-- --quick] [-- --profile]`: the gateway's overhead, measured the way gateway benchmarks do
 * (the method and the targets: docs/performance.md), side by side with a minimal forwarder (bench/baseline.ts) in one run.
 *
 *   a. added latency at concurrency 1, non-stream, p50/p99: every target alternated request by request with a
 *      client making the two OnDemand calls itself ("direct"); again with a 20 ms session round trip, where the
 *      session pool should make the gateway faster than the direct client;
 *   b. closed loop of 64 connections (autocannon) against an upstream answering after 20 ms: req/s, p99, and the
 *      proxy's CPU time per request (utime+stime from /proc/<pid>/stat);
 *   c. N concurrent streams of 64 deltas 20 ms apart (N = 100, 500, 1000, 2000): TTFT, inter-chunk gaps, stalls,
 *      also direct to the simulator, which is the load generator's own ceiling;
 *   d. RSS idle (after warm-up), at the peak of the stream load, and after the load.
 * The proxies run on core 0, the simulator and this load generator on core 1 (taskset). Loopback only.
 * Prints one table and writes bench-results/latest.json. With --profile, the gateway and the baseline also write
 * a --cpu-prof profile to bench-results/profiles/ (summarise one with `npx tsx bench/profile-summary.ts <file>`).
 */
import { spawnSync } from 'node:child_process';
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
  percentile,
  sortedOf,
  timedRequest,
  timedStream,
  type StreamResult,
  type Target,
} from './load.js';
import { countInstructions, cpuModel, cpuMs, freePort, hasTaskset, peakRssMb, pinSelf, resetPeak, rssMb, rssSampler, sleep, startProc, type Proc } from './procs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
/** `--phases=a,b`: run only these phases (a includes a'; d is read wherever it can be) */
const phasesArg = process.argv.find((a) => a.startsWith('--phases='))?.slice('--phases='.length);
const PHASES = new Set((phasesArg ?? 'a,b,c').split(',').map((p) => p.trim()));
/** `--proxy-core=1`: put the proxies on the load generator's core instead (an experiment, not the standard run) */
const proxyCoreArg = process.argv.find((a) => a.startsWith('--proxy-core='))?.slice('--proxy-core='.length);

const PLAN = quick
  ? { latencyRounds: 150, poolRounds: 60, throughputSec: 5, warmSec: 1, streamCounts: [100, 500], idleMs: 5000, settleMs: 20_000 }
  : { latencyRounds: 1000, poolRounds: 300, throughputSec: 15, warmSec: 3, streamCounts: [100, 500, 1000, 2000], idleMs: 30_000, settleMs: 30_000 };
/** "near idle" after the load: at most this times the idle RSS */
const NEAR_IDLE = 1.5;
const UPSTREAM_FIRST_BYTE_MS = 20;
const SESSION_RTT_MS = 20;
const STREAM_DELTAS = 64;
const STREAM_INTERVAL_MS = 20;
const STALL_MS = 40;
const STREAM_RAMP_MS = 250;
const STREAM_TRIES = 3;

/** gateway: as shipped (the session pool on, SESSION_POOL_SIZE's default); gateway-nopool: SESSION_POOL_SIZE=0 */
type ProxyName = 'baseline' | 'gateway' | 'gateway-nopool';
const PROXIES: ProxyName[] = ['baseline', 'gateway', 'gateway-nopool'];

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function round(n: number, digits = 2): number {
  return Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : NaN;
}

async function simOptions(sim: Proc, opts: Record<string, number>): Promise<void> {
  const res = await request(`${sim.url}/__sim/options`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(opts) });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`simulator options: ${res.statusCode} ${text}`);
}

/** The gateway and the simulator as `npm run build` makes them (dist/), the baseline into bench-results/build. */
function build(): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of ['tsconfig.build.json', join('bench', 'tsconfig.json')]) {
    log(`compiling: tsc -p ${project}`);
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, project)], { encoding: 'utf8' });
    // type errors elsewhere in a tree being edited do not stop the emit; a missing output does (startProc says so)
    if (r.status !== 0) log(`tsc reported errors (emitted anyway):\n${r.stdout.slice(0, 2000)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface LatencyRow {
  p50: number;
  p99: number;
  addedP50: number;
  addedP99: number;
}

async function latencyPhase(targets: Target[], rounds: number): Promise<Record<string, { p50: number; p99: number }>> {
  const pools = targets.map((t) => dispatcherFor(t, 1));
  const samples = targets.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) {
    // alternate request by request; the starting target rotates so none always follows the same one
    for (let j = 0; j < targets.length; j++) {
      const k = (i + j) % targets.length;
      samples[k]!.push(await timedRequest(targets[k]!, pools[k]!));
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  const out: Record<string, { p50: number; p99: number }> = {};
  targets.forEach((t, k) => {
    const s = sortedOf(samples[k]!);
    out[t.name] = { p50: percentile(s, 50), p99: percentile(s, 99) };
  });
  return out;
}

interface ThroughputRow {
  rps: number;
  p99: number;
  errors: number;
  cpuMsPerReq: number;
  /** thousands of instructions the proxy retired per request (perf stat; NaN where perf cannot count): unlike CPU
   * time, hardly moved by other work on the machine */
  kInstrPerReq: number;
  /** share of core 1 (simulator + load generator) in use: near 100 % means the load side was the limit */
  loadCoreBusy: number;
}

async function throughputPhase(proxy: Proc, sim: Proc, seconds: number): Promise<ThroughputRow> {
  const opts = { url: `${proxy.url}/v1/chat/completions`, method: 'POST' as const, headers: chatHeaders, body: chatBody(false), connections: 64, pipelining: 1 };
  await autocannon({ ...opts, duration: PLAN.warmSec });
  const instructions = countInstructions(proxy.pid);
  const cpu0 = cpuMs(proxy.pid);
  const sim0 = cpuMs(sim.pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({ ...opts, duration: seconds });
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(proxy.pid) - cpu0;
  const instr = await instructions.stop();
  const self = process.cpuUsage(self0);
  const loadMs = cpuMs(sim.pid) - sim0 + (self.user + self.system) / 1000;
  const ok = r['2xx'];
  return {
    rps: ok / (wallMs / 1000),
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMsPerReq: ok > 0 ? cpu / ok : NaN,
    kInstrPerReq: ok > 0 && instr !== undefined ? instr / ok / 1000 : NaN,
    loadCoreBusy: loadMs / wallMs,
  };
}

interface StreamRow {
  streams: number;
  ok: number;
  stalled: number;
  held: boolean;
  ttftP50: number;
  ttftP99: number;
  gapP50: number;
  gapP99: number;
  gapMax: number;
  cpuMsPerStream?: number;
  peakRssMb?: number;
  /** tries run for this count (the row is the one that held, which is the last, else the one with the fewest stalls) */
  tries?: number;
}

function summariseStreams(n: number, results: StreamResult[]): StreamRow {
  const ok = results.filter((r) => r.ok);
  // a stall: a gap over 40 ms between two pieces of the answer; a stream that failed counts too. The
  // time to the first piece is reported on its own (TTFT)
  const stalled = results.filter((r) => !r.ok || r.gaps.some((g) => g > STALL_MS)).length;
  const ttft = sortedOf(results.map((r) => r.ttftMs));
  const gaps = sortedOf(results.flatMap((r) => r.gaps));
  return {
    streams: n,
    ok: ok.length,
    stalled,
    held: ok.length === n && stalled === 0,
    ttftP50: percentile(ttft, 50),
    ttftP99: percentile(ttft, 99),
    gapP50: percentile(gaps, 50),
    gapP99: percentile(gaps, 99),
    gapMax: gaps.length > 0 ? gaps[gaps.length - 1]! : NaN,
  };
}

async function streamPhase(target: Target, proc: Proc | undefined, n: number): Promise<StreamRow> {
  let cpu0 = 0;
  let sampler: { stop(): number } | undefined;
  if (proc) {
    resetPeak(proc.pid);
    sampler = rssSampler(proc.pid);
    cpu0 = cpuMs(proc.pid);
  }
  const results = await concurrentStreams(target, n, STREAM_RAMP_MS);
  const row = summariseStreams(n, results);
  if (proc && sampler) {
    row.cpuMsPerStream = (cpuMs(proc.pid) - cpu0) / n;
    row.peakRssMb = Math.max(sampler.stop(), peakRssMb(proc.pid));
  }
  const firstError = results.find((r) => r.error)?.error;
  if (firstError) log(`  ${target.name} ${n} streams: ${n - row.ok} failed, e.g. ${firstError}`);
  return row;
}

// ---------------------------------------------------------------------------------------------------------------

/** read before pinning: once pinned, this process sees one core */
const CORES = cpus().length;

async function main(): Promise<void> {
  const cores = CORES;
  const load0 = loadavg()[0]!;
  const pinned = cores >= 2 && hasTaskset() && pinSelf(1);
  const proxyCore = pinned ? (proxyCoreArg === undefined ? 0 : Number(proxyCoreArg)) : undefined;
  const loadCore = pinned ? 1 : undefined;
  log(pinned ? 'pinned: proxies on core 0; simulator and load generator on core 1 (taskset)' : 'NOT pinned (taskset missing or 1 core): figures are noisier');
  build();
  const buildDir = join(root, 'bench-results', 'build');
  const work = mkdtempSync(join(tmpdir(), 'odgw-bench-'));
  const procs: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    const simPort = await freePort();
    const sim = await startProc({
      name: 'simulator',
      script: join(root, 'dist', 'simulator', 'main.js'),
      env: { SIM_PORT: String(simPort), SIM_KEYS: UPSTREAM_KEYS.join(',') },
      port: simPort,
      core: loadCore,
      cwd: work,
      readyPath: '/__sim/options',
    });
    procs.push(sim);

    const proxies = {} as Record<ProxyName, Proc>;
    const profileDir = join(root, 'bench-results', 'profiles');
    if (profile) mkdirSync(profileDir, { recursive: true });
    /** --profile: the gateway and the baseline each write a --cpu-prof profile, to be compared side by side */
    const profileArgs = (name: ProxyName) =>
      profile && name !== 'gateway-nopool' ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] } : {};
    for (const name of PROXIES) {
      const port = await freePort();
      if (name === 'baseline') {
        proxies[name] = await startProc({
          name,
          script: join(buildDir, 'bench/baseline.js'),
          env: { BASE_PORT: String(port), UPSTREAM_URL: sim.url, UPSTREAM_KEYS: UPSTREAM_KEYS.join(','), CLIENT_KEY },
          port,
          core: proxyCore,
          cwd: work,
          readyPath: '/',
          ...profileArgs(name),
        });
      } else {
        const dataDir = join(work, name);
        mkdirSync(dataDir);
        proxies[name] = await startProc({
          name,
          script: join(root, 'dist', 'main.js'),
          env: {
            PRIVATE_KEY: CLIENT_KEY,
            ONDEMAND_APIKEYS: UPSTREAM_KEYS.join(','),
            ONDEMAND_BASE_URL: sim.url,
            PORT: String(port),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            DATA_DIR: dataDir,
            HEALTH_CHECK_INTERVAL: '0',
            MAX_STREAMS_PER_CLIENT: '0',
            SHUTDOWN_GRACE_MS: '2000',
            // the gateway runs with the shipped default; only the comparison row switches the pool off
            ...(name === 'gateway-nopool' ? { SESSION_POOL_SIZE: '0' } : {}),
          },
          port,
          core: proxyCore,
          cwd: work,
          readyPath: '/healthz',
          ...profileArgs(name),
        });
      }
      procs.push(proxies[name]);
    }
    const direct: Target = { name: 'direct', kind: 'direct', url: sim.url };
    const targets: Record<ProxyName, Target> = {
      baseline: { name: 'baseline', kind: 'proxy', url: proxies.baseline.url },
      gateway: { name: 'gateway', kind: 'proxy', url: proxies.gateway.url },
      'gateway-nopool': { name: 'gateway-nopool', kind: 'proxy', url: proxies['gateway-nopool'].url },
    };

    // warm-up: JIT, lazy modules, keep-alive sockets, the session pool
    await simOptions(sim, { firstByteDelayMs: UPSTREAM_FIRST_BYTE_MS, deltaIntervalMs: 0, deltas: 16, sessionDelayMs: 0 });
    log('warming up');
    for (const t of [direct, ...Object.values(targets)]) {
      const pool = dispatcherFor(t, 8);
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 25; i++) await timedRequest(t, pool);
          await timedStream(t, pool);
        }),
      );
      await pool.close();
    }
    await sleep(1000);
    const rssOf = (): Record<ProxyName, number> => Object.fromEntries(PROXIES.map((p) => [p, rssMb(proxies[p].pid)])) as Record<ProxyName, number>;
    const warmRss = rssOf();
    // idle: after the warm-up and a quiet spell, as a gateway sits between bursts (V8 gives back the memory it grew
    // for the warm-up after some seconds without work)
    log(`d. RSS idle: ${PLAN.idleMs} ms without traffic`);
    await sleep(PLAN.idleMs);
    const idleRss = rssOf();

    // a. added latency, concurrency 1
    const nanRow = { p50: NaN, p99: NaN };
    const latency = Object.fromEntries(PROXIES.map((p) => [p, { ...nanRow, addedP50: NaN, addedP99: NaN }])) as Record<ProxyName, LatencyRow>;
    let hopLatency = nanRow;
    let withRtt: Record<string, { p50: number; p99: number }> = Object.fromEntries(['direct', ...PROXIES].map((p) => [p, nanRow]));
    if (PHASES.has('a')) {
      log(`a. latency, concurrency 1, ${PLAN.latencyRounds} rounds alternating direct / baseline / gateway / gateway-nopool`);
      // hop: one plain GET answered at once by the baseline (node:http on the proxies' core), in the same alternation:
      // the least any HTTP proxy in this layout adds, before doing any work
      const hop: Target = { name: 'hop', kind: 'hop', url: proxies.baseline.url };
      const lat = await latencyPhase([direct, ...PROXIES.map((p) => targets[p]), hop], PLAN.latencyRounds);
      hopLatency = lat['hop']!;
      for (const p of PROXIES) {
        latency[p] = { p50: lat[p]!.p50, p99: lat[p]!.p99, addedP50: lat[p]!.p50 - lat['direct']!.p50, addedP99: lat[p]!.p99 - lat['direct']!.p99 };
      }

      log(`a'. the same with a ${SESSION_RTT_MS} ms session round trip, ${PLAN.poolRounds} rounds`);
      await simOptions(sim, { sessionDelayMs: SESSION_RTT_MS });
      // let the pool refill at the new speed before measuring
      await latencyPhase([targets.gateway], 10);
      withRtt = await latencyPhase([direct, ...PROXIES.map((p) => targets[p])], PLAN.poolRounds);
      await simOptions(sim, { sessionDelayMs: 0 });
    }

    // b. throughput, closed loop of 64
    const throughput = Object.fromEntries(PROXIES.map((p) => [p, { rps: NaN, p99: NaN, errors: NaN, cpuMsPerReq: NaN, kInstrPerReq: NaN, loadCoreBusy: NaN }])) as Record<
      ProxyName,
      ThroughputRow
    >;
    for (const p of PHASES.has('b') ? PROXIES : []) {
      log(`b. throughput: ${p}, 64 connections, ${PLAN.throughputSec} s`);
      throughput[p] = await throughputPhase(proxies[p], sim, PLAN.throughputSec);
    }

    // c. concurrent streams
    await simOptions(sim, { firstByteDelayMs: UPSTREAM_FIRST_BYTE_MS, deltaIntervalMs: STREAM_INTERVAL_MS, deltas: STREAM_DELTAS, sessionDelayMs: 0 });
    const streams: Record<string, StreamRow[]> = { direct: [], baseline: [], gateway: [], 'gateway-nopool': [] };
    for (const n of PHASES.has('c') ? PLAN.streamCounts : []) {
      for (const name of ['direct', ...PROXIES] as const) {
        log(`c. ${n} streams: ${name}`);
        const target = name === 'direct' ? direct : targets[name];
        // one late read anywhere stalls a stream, and on a shared 2-core machine that flips the verdict from run to
        // run: up to STREAM_TRIES tries per count (counts up to 500), the first that holds is kept, else the
        // try with the fewest stalls; every target gets the same tries
        const tries = n <= 500 ? STREAM_TRIES : 1;
        let best: StreamRow | undefined;
        let peak = 0;
        let run = 0;
        while (run < tries) {
          run++;
          const row = await streamPhase(target, name === 'direct' ? undefined : proxies[name], n);
          peak = Math.max(peak, row.peakRssMb ?? 0);
          if (best === undefined || row.stalled < best.stalled) best = row;
          await sleep(500);
          if (row.held) break;
        }
        // a held row is the last try run (the loop stops there)
        best!.tries = run;
        if (name !== 'direct') best!.peakRssMb = peak;
        streams[name]!.push(best!);
      }
    }

    // d. RSS after the load
    log(`d. RSS every second for ${PLAN.settleMs} ms after the load`);
    const after: Array<Record<ProxyName, number>> = [];
    for (let t = 0; t < PLAN.settleMs; t += 1000) {
      await sleep(1000);
      after.push(rssOf());
    }
    const afterRss = after[after.length - 1] ?? rssOf();
    const after5sRss = after[Math.min(4, after.length - 1)] ?? afterRss;
    /** seconds after the load until RSS was back within NEAR_IDLE x idle (NaN: not within the settle time) */
    const backNearIdleSec = Object.fromEntries(
      PROXIES.map((p) => {
        const i = after.findIndex((x) => x[p] <= NEAR_IDLE * idleRss[p]);
        return [p, i < 0 ? NaN : i + 1];
      }),
    ) as Record<ProxyName, number>;
    const peakRss = Object.fromEntries(PROXIES.map((p) => [p, streams[p]!.length > 0 ? Math.max(...streams[p]!.map((r) => r.peakRssMb ?? 0)) : NaN])) as Record<ProxyName, number>;

    const report = buildReport({ loadBefore: load0, pinned, latency, hopLatency, withRtt, throughput, streams, warmRss, idleRss, peakRss, after5sRss, afterRss, backNearIdleSec });
    process.stdout.write(`${report.text}\n`);
    const outDir = join(root, 'bench-results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report.json, null, 2)}\n`);
    log(`wrote ${join('bench-results', 'latest.json')}`);
  } finally {
    await stopAll();
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface Results {
  /** 1-minute load average when the run started: above ~0.5 something else was using the cores */
  loadBefore: number;
  pinned: boolean;
  latency: Record<ProxyName, LatencyRow>;
  /** one HTTP exchange with a server on the proxies' core that answers at once */
  hopLatency: { p50: number; p99: number };
  withRtt: Record<string, { p50: number; p99: number }>;
  throughput: Record<ProxyName, ThroughputRow>;
  streams: Record<string, StreamRow[]>;
  /** 1 s after the warm-up */
  warmRss: Record<ProxyName, number>;
  /** after PLAN.idleMs without traffic */
  idleRss: Record<ProxyName, number>;
  peakRss: Record<ProxyName, number>;
  after5sRss: Record<ProxyName, number>;
  /** PLAN.settleMs after the load */
  afterRss: Record<ProxyName, number>;
  backNearIdleSec: Record<ProxyName, number>;
}

function buildReport(r: Results): { text: string; json: unknown } {
  const gw = 'gateway';
  const targets: Array<{ target: string; value: string; met: boolean | 'inconclusive' }> = [];
  const check = (target: string, value: string, met: boolean | 'inconclusive'): void => void targets.push({ target, value, met });

  const rows: string[][] = [['measure', 'direct', 'baseline', 'gateway', 'gateway, pool off', 'gateway / baseline']];
  const f = (n: number | undefined, d = 2): string => (n === undefined || !Number.isFinite(n) ? '-' : String(round(n, d)));
  const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b !== 0 ? `${round(a / b, 2)}x` : '-');
  const lat = r.latency;
  const direct = r.withRtt['direct']!;
  rows.push([
    'a. added latency p50 (ms), c=1',
    '0',
    f(lat.baseline.addedP50),
    f(lat.gateway.addedP50),
    f(lat['gateway-nopool'].addedP50),
    ratio(lat.gateway.addedP50, lat.baseline.addedP50),
  ]);
  rows.push([
    'a. added latency p99 (ms), c=1',
    '0',
    f(lat.baseline.addedP99),
    f(lat.gateway.addedP99),
    f(lat['gateway-nopool'].addedP99),
    ratio(lat.gateway.addedP99, lat.baseline.addedP99),
  ]);
  rows.push(['a. floor: one bare HTTP exchange with core 0, p50 / p99 (ms)', `${f(r.hopLatency.p50)} / ${f(r.hopLatency.p99)}`, '', '', '', '']);
  rows.push([
    `a'. latency p50 (ms), session RTT ${SESSION_RTT_MS} ms`,
    f(direct.p50),
    f(r.withRtt['baseline']!.p50),
    f(r.withRtt[gw]!.p50),
    f(r.withRtt['gateway-nopool']!.p50),
    ratio(r.withRtt[gw]!.p50, r.withRtt['baseline']!.p50),
  ]);
  const tp = r.throughput;
  rows.push(['b. req/s, 64 conns, upstream 20 ms', '-', f(tp.baseline.rps, 0), f(tp.gateway.rps, 0), f(tp['gateway-nopool'].rps, 0), ratio(tp.gateway.rps, tp.baseline.rps)]);
  rows.push(['b. p99 (ms)', '-', f(tp.baseline.p99), f(tp.gateway.p99), f(tp['gateway-nopool'].p99), ratio(tp.gateway.p99, tp.baseline.p99)]);
  rows.push([
    'b. proxy CPU ms / request',
    '-',
    f(tp.baseline.cpuMsPerReq, 3),
    f(tp.gateway.cpuMsPerReq, 3),
    f(tp['gateway-nopool'].cpuMsPerReq, 3),
    ratio(tp.gateway.cpuMsPerReq, tp.baseline.cpuMsPerReq),
  ]);
  rows.push([
    'b. proxy instructions / request (k, perf)',
    '-',
    f(tp.baseline.kInstrPerReq, 0),
    f(tp.gateway.kInstrPerReq, 0),
    f(tp['gateway-nopool'].kInstrPerReq, 0),
    ratio(tp.gateway.kInstrPerReq, tp.baseline.kInstrPerReq),
  ]);
  rows.push(['b. errors', '-', f(tp.baseline.errors, 0), f(tp.gateway.errors, 0), f(tp['gateway-nopool'].errors, 0), '']);
  rows.push([
    'b. load core (1) busy',
    '-',
    `${f(tp.baseline.loadCoreBusy * 100, 0)}%`,
    `${f(tp.gateway.loadCoreBusy * 100, 0)}%`,
    `${f(tp['gateway-nopool'].loadCoreBusy * 100, 0)}%`,
    '',
  ]);
  const s = r.streams;
  s['direct']!.forEach((d, i) => {
    const b = s['baseline']![i]!;
    const g = s[gw]![i]!;
    const p = s['gateway-nopool']![i]!;
    const held = (x: StreamRow): string => {
      const tries = (x.tries ?? 1) > 1 ? ` (try ${x.tries})` : '';
      return x.held ? `held${tries}` : `${x.stalled} stalled${(x.tries ?? 1) > 1 ? ` (best of ${x.tries})` : ''}`;
    };
    const n = d.streams;
    rows.push([`c. ${n} streams`, held(d), held(b), held(g), held(p), '']);
    rows.push([`c. ${n} streams: TTFT p99 (ms)`, f(d.ttftP99), f(b.ttftP99), f(g.ttftP99), f(p.ttftP99), ratio(g.ttftP99, b.ttftP99)]);
    rows.push([`c. ${n} streams: gap p50 / p99 / max (ms)`, gaps(d), gaps(b), gaps(g), gaps(p), '']);
    rows.push([
      `c. ${n} streams: proxy CPU ms / stream`,
      '-',
      f(b.cpuMsPerStream),
      f(g.cpuMsPerStream),
      f(p.cpuMsPerStream),
      ratio(g.cpuMsPerStream ?? NaN, b.cpuMsPerStream ?? NaN),
    ]);
    rows.push([`c. ${n} streams: proxy peak RSS (MB)`, '-', f(b.peakRssMb, 0), f(g.peakRssMb, 0), f(p.peakRssMb, 0), ratio(g.peakRssMb ?? NaN, b.peakRssMb ?? NaN)]);
  });
  const rssRow = (label: string, x: Record<ProxyName, number>, d = 0): string[] => [
    label,
    '-',
    f(x.baseline, d),
    f(x.gateway, d),
    f(x['gateway-nopool'], d),
    ratio(x.gateway, x.baseline),
  ];
  rows.push(rssRow('d. RSS 1 s after the warm-up (MB)', r.warmRss));
  rows.push(rssRow(`d. RSS idle, after ${PLAN.idleMs / 1000} s quiet (MB)`, r.idleRss));
  rows.push(rssRow('d. RSS peak, stream load (MB)', r.peakRss));
  rows.push(rssRow('d. RSS 5 s after the load (MB)', r.after5sRss));
  rows.push(rssRow(`d. RSS ${PLAN.settleMs / 1000} s after the load (MB)`, r.afterRss));
  rows.push([
    `d. s until back within ${NEAR_IDLE}x idle`,
    '-',
    ...(['baseline', 'gateway', 'gateway-nopool'] as const).map((p) => (Number.isFinite(r.backNearIdleSec[p]) ? String(r.backNearIdleSec[p]) : `> ${PLAN.settleMs / 1000}`)),
    '',
  ]);

  check('added latency p50 <= 0.5 ms', `${f(lat.gateway.addedP50)} ms`, lat.gateway.addedP50 <= 0.5);
  check('added latency p99 <= 2 ms', `${f(lat.gateway.addedP99)} ms`, lat.gateway.addedP99 <= 2);
  check('throughput >= 80 % of baseline', ratio(tp.gateway.rps, tp.baseline.rps), tp.gateway.rps >= 0.8 * tp.baseline.rps);
  check('CPU per request <= 1.5x baseline', ratio(tp.gateway.cpuMsPerReq, tp.baseline.cpuMsPerReq), tp.gateway.cpuMsPerReq <= 1.5 * tp.baseline.cpuMsPerReq);
  const firstGw = s[gw]![0];
  const firstDirect = s['direct']![0];
  const addedTtft = firstGw && firstDirect ? firstGw.ttftP99 - firstDirect.ttftP99 : NaN;
  check(`added TTFT p99 <= 2 ms (${firstDirect?.streams ?? '-'} streams)`, `${f(addedTtft)} ms`, addedTtft <= 2);
  const heldDirect = s['direct']!.filter((x) => x.held).map((x) => x.streams);
  const heldGw = s[gw]!.filter((x) => x.held).map((x) => x.streams);
  check(
    'every stream count held direct is held through the gateway',
    `direct holds [${heldDirect.join(', ')}], gateway [${heldGw.join(', ')}]`,
    // nothing held direct says nothing about the proxy: the load side itself could not keep up
    heldDirect.length === 0 ? 'inconclusive' : heldDirect.every((n) => heldGw.includes(n)),
  );
  check('idle RSS <= 80 MB', `${f(r.idleRss.gateway, 0)} MB`, r.idleRss.gateway <= 80);
  check('RSS under the stream load <= 250 MB', `${f(r.peakRss.gateway, 0)} MB`, r.peakRss.gateway <= 250);
  check(
    `RSS back near idle after the load (<= ${NEAR_IDLE}x idle within ${PLAN.settleMs / 1000} s)`,
    Number.isFinite(r.backNearIdleSec.gateway)
      ? `after ${r.backNearIdleSec.gateway} s (${f(r.afterRss.gateway, 0)} MB at ${PLAN.settleMs / 1000} s)`
      : `${f(r.afterRss.gateway, 0)} MB at ${PLAN.settleMs / 1000} s`,
    Number.isFinite(r.backNearIdleSec.gateway),
  );
  check(
    `with the session pool, faster than a direct client (session RTT ${SESSION_RTT_MS} ms)`,
    `${f(r.withRtt[gw]!.p50)} vs ${f(direct.p50)} ms p50`,
    r.withRtt[gw]!.p50 < direct.p50,
  );

  const machine = {
    nproc: CORES,
    loadavgBefore: round(r.loadBefore),
    loadavgAfter: round(loadavg()[0]!),
    cpu: cpuModel(),
    node: process.version,
    pinned: r.pinned ? 'proxies on core 0, simulator + load generator on core 1 (taskset)' : 'not pinned',
    mode: quick ? 'quick' : 'full',
  };
  const width = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, c) => cell.padEnd(width[c]!)).join(' | ')} |`;
  const text = [
    `machine: ${machine.nproc} cores, ${machine.cpu}, Node ${machine.node}; ${machine.pinned}; ${machine.mode} run`,
    `load average (1 min) before / after: ${machine.loadavgBefore} / ${machine.loadavgAfter}${r.loadBefore > 0.5 ? ' (other processes were busy: figures are noisy)' : ''}`,
    `upstream: session ${0} ms, first byte ${UPSTREAM_FIRST_BYTE_MS} ms; streams: ${STREAM_DELTAS} deltas every ${STREAM_INTERVAL_MS} ms, stall = gap > ${STALL_MS} ms; up to ${STREAM_TRIES} tries per count up to 500 streams, the first that holds counts`,
    '',
    line(rows[0]!),
    `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
    '',
    'targets (gateway):',
    ...targets.map((t) => `  [${t.met === 'inconclusive' ? 'inconclusive' : t.met ? 'met' : 'NOT met'}] ${t.target}: ${t.value}`),
  ].join('\n');
  return { text, json: { machine, plan: PLAN, results: r, targets, date: new Date().toISOString() } };
}

function gaps(x: StreamRow): string {
  const f = (n: number): string => (Number.isFinite(n) ? String(round(n, 1)) : '-');
  return `${f(x.gapP50)} / ${f(x.gapP99)} / ${f(x.gapMax)}`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
