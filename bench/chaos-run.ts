/**
 * The chaos run, shared by `npm run chaos` (bench/chaos.ts) and its short version in the test suite
 * (test/chaos.short.test.ts). Loopback only. The simulator always runs in its own process. The gateway runs
 * either in this process beside the N client loops (`gateway: 'inline'`, the short test) or as its own child
 * process, `node dist/main.js` (`gateway: 'process'`, the CLI), so that its RSS is measured without the load
 * generator's: RSS from /proc/<pid>/status, heap from its own admin-protected /metrics.
 *
 * Keys: a few "anchor" keys never fail, so at least one key is healthy at every moment; the others get a random
 * fault every epoch (401, 429, 5xx, resets, stalls, streams cut / failed / stalled before or after the first delta)
 * through the simulator's control API. The "anchor-timeouts" scenario makes the upstream circuit's hard case: the
 * faulty keys fail every call, and each anchor times out one call now and then while it serves hundreds.
 * Every answer a client gets is classified:
 *   ok          a chat completion, or a stream ending in [DONE]
 *   midstream   the answer had started upstream when its key failed: an error chunk (stream) or a 502 naming it
 *               (non-stream); failover is impossible by design once the answer started
 *   prebyte     an error although the failure came before the first byte (the target is 0: failover must find
 *               a healthy key)
 *   malformed   anything not OpenAI-shaped, or a cut / hung response: always a bug
 * At the end the faults stop and the run checks that nothing is stuck: the gateway's completions in flight, the
 * simulator's open streams, and the gateway's open sockets all go to zero.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../src/config/config.js';
import { startGateway } from '../src/gateway.js';
import type { KeyBehaviorSpec, SimStats } from '../src/simulator/types.js';
import { checkChatStream, parseJson, post, shapeProblem } from '../test/fault-helpers.js';
import { freePort, rssMb, startFlags, startProc } from './procs.js';

export interface ChaosOptions {
  seconds: number;
  clients: number;
  /** keys that get faults */
  faultyKeys?: number;
  /** keys that never fail */
  anchorKeys?: number;
  /** how often the faults change */
  epochMs?: number;
  /** 'any' (default): a fault of every kind, or none; 'failing': only faults that fail a call before its first byte */
  faultMix?: 'any' | 'failing';
  /** each anchor key stalls one call until the first-byte timeout this often on average (default: never) */
  anchorTimeoutEveryMs?: number;
  /** progress lines (the CLI prints them) */
  log?: (line: string) => void;
  /** each client waits up to this many ms (random) between its requests (default 100) */
  thinkMs?: number;
  /** extra gateway settings */
  env?: Record<string, string>;
  seed?: number;
  /** where the gateway runs: in this process (default) or as `node dist/main.js` (needs `npm run build` first) */
  gateway?: 'inline' | 'process';
  /** node flags for the gateway process (e.g. --max-semi-space-size=16, --heapsnapshot-signal=SIGUSR2) */
  gatewayNodeArgs?: string[];
  /** memory sample period (default 2000 ms) */
  sampleMs?: number;
  /** how long to watch the idle gateway after the load stops (default 10 s) */
  cooldownSeconds?: number;
  /** called with the gateway's pid once it is up (process mode), e.g. to signal it for a heap snapshot */
  onGatewayPid?: (pid: number) => void;
}

export interface MemorySample {
  /** seconds since the load started (negative: before; past `seconds`: after the load stopped) */
  t: number;
  rssMB: number;
  heapMB: number;
}

export interface ChaosReport {
  seconds: number;
  clients: number;
  keys: { anchor: number; faulty: number };
  requests: number;
  ok: number;
  midstream: number;
  prebyte: number;
  malformed: number;
  /** requests whose failure happened before the first byte and that still succeeded, over all such requests */
  prebyteSuccessRate: number;
  faultsApplied: Record<string, number>;
  examples: { prebyte: string[]; malformed: string[] };
  end: { gatewayInFlight: number; gatewayStreams: number; simOpenStreams: number; gatewaySockets: number; settled: boolean };
  /**
   * process mode: the gateway process alone (RSS from /proc, heap used from its /metrics, not after a forced GC);
   * inline mode: this whole process, gateway + load generator (heap after a forced GC when --expose-gc is on).
   */
  memory: {
    measured: 'gateway process' | 'gateway + load generator';
    rssStartMB: number;
    rssAfterWarmupMB: number;
    rssPeakMB: number;
    /** when the clients stopped */
    rssEndMB: number;
    /** `cooldownSeconds` after the clients stopped, idle */
    rssAfterCooldownMB: number;
    /** least-squares slope of RSS over the second half of the load, MB per minute */
    rssSlopeSecondHalfMBPerMin: number;
    heapSlopeSecondHalfMBPerMin: number;
    /** RSS peak in the first and in the second half of the load: a leak raises the second */
    rssPeakHalvesMB: [number, number];
    /**
     * lowest heap sample in each 20 s window of the load: the heap just after a major GC, so the live data. The
     * heap used in between is a sawtooth (young objects promoted, collected at the next major GC) whose top says
     * nothing about a leak; its floor does.
     */
    heapFloorsMB: number[];
    heapFloorSlopeMBPerMin: number;
    rssEveryTenSecondsMB: number[];
    heapAfterWarmupMB: number;
    heapEndMB: number;
    heapAfterCooldownMB: number;
    gcExposed: boolean;
    /** the load generator's own RSS at the end (process mode; in inline mode it is inside the figures above) */
    loadGeneratorRssEndMB: number;
    samples: MemorySample[];
  };
  /** MAX_ATTEMPTS the gateway ran with */
  maxAttempts: number;
  /** times the upstream circuit opened (gateway_circuit_trips_total) */
  circuitTrips: number;
  requestsPerSecond: number;
}

/** The gateway the clients talk to, wherever it runs. */
interface GatewayUnderTest {
  url: string;
  pid: number | undefined;
  memory(forceGc: boolean): Promise<{ rss: number; heap: number }>;
  /** completions and started streams in flight */
  inFlight(): Promise<{ completions: number; streams: number }>;
  /** server-side sockets still open */
  sockets(): Promise<number>;
  /** the gateway's Prometheus figures, summed over labels */
  metrics(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const CLIENT_KEY = 'sk-chaos-client-key-0123456789';
const ADMIN_KEY = 'sk-chaos-admin-key-0123456789';
const MB = 1024 * 1024;

/** A small deterministic PRNG (mulberry32): the same seed gives the same fault schedule. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAULTS: Array<{ name: string; weight: number; spec: KeyBehaviorSpec }> = [
  { name: 'ok', weight: 8, spec: { kind: 'ok' } },
  { name: 'http401', weight: 2, spec: { kind: 'http', status: 401 } },
  { name: 'http429', weight: 2, spec: { kind: 'http', status: 429, retryAfterSec: 1 } },
  { name: 'http500', weight: 1, spec: { kind: 'http', status: 500 } },
  { name: 'http502', weight: 1, spec: { kind: 'http', status: 502, html: true } },
  { name: 'http503', weight: 1, spec: { kind: 'http', status: 503 } },
  { name: 'reset_session', weight: 1, spec: { kind: 'reset', on: 'session' } },
  { name: 'reset_query', weight: 1, spec: { kind: 'reset', on: 'query' } },
  { name: 'stall_query', weight: 1, spec: { kind: 'stall', on: 'query' } },
  { name: 'cut_before_first_byte', weight: 1, spec: { kind: 'cut', afterDeltas: 0 } },
  { name: 'cut_mid_stream', weight: 1, spec: { kind: 'cut', afterDeltas: 2 } },
  { name: 'stream_error_before_first_byte', weight: 1, spec: { kind: 'stream_error', afterDeltas: 0 } },
  { name: 'stream_error_mid_stream', weight: 1, spec: { kind: 'stream_error', afterDeltas: 2 } },
  { name: 'stall_stream_before_first_byte', weight: 1, spec: { kind: 'stall_stream', afterDeltas: 0 } },
  { name: 'stall_stream_mid_stream', weight: 1, spec: { kind: 'stall_stream', afterDeltas: 2 } },
];
/** The faults that fail a call before its first byte, all of the transient class. */
const FAILING_FAULT_NAMES = new Set([
  'http500',
  'http502',
  'http503',
  'reset_session',
  'reset_query',
  'stall_query',
  'cut_before_first_byte',
  'stream_error_before_first_byte',
  'stall_stream_before_first_byte',
]);
const FAILING_FAULTS = FAULTS.filter((f) => FAILING_FAULT_NAMES.has(f.name));

function pickFault(faults: typeof FAULTS, random: () => number): (typeof FAULTS)[number] {
  let r = random() * faults.reduce((n, f) => n + f.weight, 0);
  for (const f of faults) {
    r -= f.weight;
    if (r < 0) return f;
  }
  return faults[0]!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined);
  const random = prng(opts.seed ?? 7);
  const anchor = opts.anchorKeys ?? 2;
  const faulty = opts.faultyKeys ?? 6;
  const keys = Array.from({ length: anchor + faulty }, (_, i) => `od-chaos-${i < anchor ? 'anchor' : 'faulty'}-${String(i).padStart(2, '0')}-abcdef`);
  const faultyList = keys.slice(anchor);
  const epochMs = opts.epochMs ?? 1_000;
  const faults = opts.faultMix === 'failing' ? FAILING_FAULTS : FAULTS;

  const sim = await spawnSimulator(keys);
  const dataDir = mkdtempSync(join(tmpdir(), 'odgw-chaos-'));
  const env: Record<string, string> = {
    PRIVATE_KEY: CLIENT_KEY,
    ADMIN_KEY,
    ONDEMAND_APIKEYS: keys.join(','),
    ONDEMAND_BASE_URL: sim.url,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    // every key may be tried: a request must be able to reach a healthy key whatever the others do
    MAX_ATTEMPTS: String(Math.min(20, keys.length)),
    RETRY_DEADLINE_MS: '30000',
    CONNECT_TIMEOUT_MS: '1000',
    FIRST_BYTE_TIMEOUT_MS: '1500',
    IDLE_TIMEOUT_MS: '1500',
    HEALTH_CHECK_INTERVAL: '5',
    RATE_LIMIT_COOLDOWN_SEC: '2',
    TRANSIENT_COOLDOWN_SEC: '2',
    BAD_KEY_RETRY_INTERVAL: '5',
    MAX_STREAMS_PER_CLIENT: '0',
    SHUTDOWN_GRACE_MS: '2000',
    ...opts.env,
  };
  // an empty value in opts.env removes the run's setting: the gateway's own default applies
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  const maxAttempts = loadConfig(env).MAX_ATTEMPTS;
  const mode = opts.gateway ?? 'inline';
  const gateway = mode === 'process' ? await gatewayProcess(env, dataDir, opts.gatewayNodeArgs ?? []) : await gatewayInline(env);
  if (gateway.pid !== undefined) opts.onGatewayPid?.(gateway.pid);
  const url = gateway.url;
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });

  const gc = (globalThis as { gc?: () => void }).gc;
  const counts = { requests: 0, ok: 0, midstream: 0, prebyte: 0, malformed: 0 };
  const examples = { prebyte: [] as string[], malformed: [] as string[] };
  const faultsApplied: Record<string, number> = {};
  const note = (list: string[], text: string): void => {
    if (list.length < 8) list.push(text.slice(0, 400));
  };

  await sleep(1000); // let the fresh process settle (lazy module init, first timers)
  const first = await gateway.memory(true);
  const rssStart = first.rss;
  let rssPeak = rssStart;
  const started = Date.now();
  const samples: MemorySample[] = [{ t: -1, rssMB: round1(first.rss / MB), heapMB: round1(first.heap / MB) }];
  const deadline = started + opts.seconds * 1000;
  let faultsOn = true;

  // the fault schedule
  const chaos = (async () => {
    while (Date.now() < deadline) {
      for (const key of faultyList) {
        const f = pickFault(faults, random);
        faultsApplied[f.name] = (faultsApplied[f.name] ?? 0) + 1;
        if (faultsOn) await sim.setKeyBehavior(key, f.spec);
      }
      await sleep(epochMs);
    }
  })();
  const anchorTimeouts = keys.slice(0, anchor).map(async (key) => {
    const every = opts.anchorTimeoutEveryMs;
    if (every === undefined) return;
    for (;;) {
      await sleep(Math.floor(random() * 2 * every));
      if (Date.now() >= deadline) return;
      faultsApplied['anchor_timeout'] = (faultsApplied['anchor_timeout'] ?? 0) + 1;
      await sim.setKeyBehavior(key, { kind: 'stall', on: 'query', times: 1 });
    }
  });

  // progress and memory
  let heapAfterWarmup = 0;
  let rssAfterWarmup = 0;
  const rssSamples: number[] = [];
  const sampleMs = opts.sampleMs ?? 2_000;
  const warmupMs = Math.min(20_000, (opts.seconds * 1000) / 5);
  const monitor = (async () => {
    let lastReport = Date.now();
    let warmed = false;
    while (Date.now() < deadline) {
      await sleep(Math.min(sampleMs, Math.max(1, deadline - Date.now())));
      if (Date.now() >= deadline) break;
      const warming = !warmed && Date.now() - started > warmupMs;
      const m = await gateway.memory(warming);
      rssPeak = Math.max(rssPeak, m.rss);
      samples.push({ t: round1((Date.now() - started) / 1000), rssMB: round1(m.rss / MB), heapMB: round1(m.heap / MB) });
      if (warming) {
        warmed = true;
        heapAfterWarmup = m.heap;
        rssAfterWarmup = m.rss;
      }
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        rssSamples.push(Math.round(m.rss / MB));
        const inFlight = await gateway.inFlight();
        log(
          `${Math.round((Date.now() - started) / 1000)}s: ${counts.requests} requests, ok ${counts.ok}, midstream ${counts.midstream}, ` +
            `prebyte ${counts.prebyte}, malformed ${counts.malformed}, in flight ${inFlight.completions}, gateway rss ${Math.round(m.rss / MB)} MB, heap ${Math.round(m.heap / MB)} MB`,
        );
      }
    }
  })();

  const client = async (id: number): Promise<void> => {
    let n = 0;
    while (Date.now() < deadline) {
      await sleep(Math.floor(random() * (opts.thinkMs ?? 100)));
      const stream = (id + n++) % 2 === 0;
      const words = 'one two three four five six seven eight nine ten';
      const res = await post(
        `${url}/v1/chat/completions`,
        { model: 'gpt-4o', stream, messages: [{ role: 'user', content: `client ${id} request ${n}: ${words}` }] },
        { authorization: `Bearer ${CLIENT_KEY}` },
        { agent, timeoutMs: 60_000 },
      );
      counts.requests++;
      const problem = shapeProblem(res, stream);
      if (problem !== undefined) {
        counts.malformed++;
        note(examples.malformed, `stream=${stream}: ${problem}`);
        continue;
      }
      if (res.status === 200) {
        if (stream && checkChatStream(res.body).ending === 'error') counts.midstream++;
        else counts.ok++;
        continue;
      }
      const message = String((parseJson(res.body) as { error?: { message?: unknown } } | undefined)?.error?.message ?? '');
      if (res.status === 502 && message.includes('after the answer started')) counts.midstream++;
      else {
        counts.prebyte++;
        note(examples.prebyte, `stream=${stream} ${res.status}: ${res.body}`);
      }
    }
  };

  await Promise.all([chaos, monitor, ...anchorTimeouts, ...Array.from({ length: opts.clients }, (_, i) => client(i))]);
  const stopped = Date.now();
  const elapsed = (stopped - started) / 1000;
  const atEnd = await gateway.memory(false);
  rssPeak = Math.max(rssPeak, atEnd.rss);
  samples.push({ t: round1(elapsed), rssMB: round1(atEnd.rss / MB), heapMB: round1(atEnd.heap / MB) });

  // faults off; nothing may be left running
  faultsOn = false;
  await sim.reset();
  agent.destroy();
  let openSockets = await gateway.sockets();
  let simOpen = (await sim.stats()).openStreams;
  let inFlight = await gateway.inFlight();
  for (let i = 0; i < 250 && (inFlight.completions > 0 || simOpen > 0); i++) {
    await sleep(20);
    simOpen = (await sim.stats()).openStreams;
    inFlight = await gateway.inFlight();
  }
  const settled = inFlight.completions === 0 && simOpen === 0;
  const circuitTrips = (await gateway.metrics()).get('gateway_circuit_trips_total') ?? 0;
  for (let i = 0; i < 100 && openSockets > 0; i++) {
    await sleep(20);
    openSockets = await gateway.sockets();
  }
  const end = {
    gatewayInFlight: inFlight.completions,
    gatewayStreams: inFlight.streams,
    simOpenStreams: simOpen,
    gatewaySockets: openSockets,
    settled,
  };

  // the idle gateway after the load: RSS that stays up here is held, not in use
  const cooldownMs = (opts.cooldownSeconds ?? 10) * 1000;
  while (Date.now() - stopped < cooldownMs) {
    await sleep(Math.min(sampleMs, Math.max(1, cooldownMs - (Date.now() - stopped))));
    const m = await gateway.memory(false);
    samples.push({ t: round1((Date.now() - started) / 1000), rssMB: round1(m.rss / MB), heapMB: round1(m.heap / MB) });
  }
  const afterCooldown = await gateway.memory(true);
  samples.push({ t: round1((Date.now() - started) / 1000), rssMB: round1(afterCooldown.rss / MB), heapMB: round1(afterCooldown.heap / MB) });
  const secondHalf = samples.filter((s) => s.t >= elapsed / 2 && s.t <= elapsed);
  const during = samples.filter((s) => s.t >= 0 && s.t <= elapsed);
  const floors: Array<[number, number]> = [];
  for (let w = 0; w * 20 < elapsed; w++) {
    const win = during.filter((s) => s.t >= w * 20 && s.t < (w + 1) * 20);
    if (win.length === 0) continue;
    const low = win.reduce((a, b) => (b.heapMB < a.heapMB ? b : a));
    floors.push([low.t, low.heapMB]);
  }
  const peakOf = (list: MemorySample[]): number => Math.round(list.reduce((a, b) => Math.max(a, b.rssMB), 0));
  const memory = {
    measured: mode === 'process' ? ('gateway process' as const) : ('gateway + load generator' as const),
    rssStartMB: Math.round(rssStart / MB),
    rssAfterWarmupMB: Math.round(rssAfterWarmup / MB),
    rssPeakMB: Math.round(rssPeak / MB),
    rssEndMB: Math.round(atEnd.rss / MB),
    rssAfterCooldownMB: Math.round(afterCooldown.rss / MB),
    rssSlopeSecondHalfMBPerMin: round1(slopePerMin(secondHalf.map((s) => [s.t, s.rssMB]))),
    heapSlopeSecondHalfMBPerMin: round1(slopePerMin(secondHalf.map((s) => [s.t, s.heapMB]))),
    rssPeakHalvesMB: [peakOf(during.filter((s) => s.t < elapsed / 2)), peakOf(secondHalf)] as [number, number],
    heapFloorsMB: floors.map(([, h]) => Math.round(h)),
    heapFloorSlopeMBPerMin: round1(slopePerMin(floors.slice(1))),
    rssEveryTenSecondsMB: rssSamples,
    heapAfterWarmupMB: Math.round(heapAfterWarmup / MB),
    heapEndMB: Math.round(atEnd.heap / MB),
    heapAfterCooldownMB: Math.round(afterCooldown.heap / MB),
    gcExposed: mode === 'inline' && gc !== undefined,
    loadGeneratorRssEndMB: mode === 'process' ? Math.round(process.memoryUsage().rss / MB) : 0,
    samples,
  };

  await gateway.close();
  await sim.close();
  rmSync(dataDir, { recursive: true, force: true });

  const prebyteTotal = counts.ok + counts.prebyte;
  return {
    seconds: Math.round(elapsed),
    clients: opts.clients,
    keys: { anchor, faulty },
    ...counts,
    prebyteSuccessRate: prebyteTotal === 0 ? 1 : counts.ok / prebyteTotal,
    faultsApplied,
    examples,
    end,
    memory,
    maxAttempts,
    circuitTrips,
    requestsPerSecond: Math.round(counts.requests / Math.max(1, elapsed)),
  };
}

const round1 = (n: number): number => (Number.isFinite(n) ? Math.round(n * 10) / 10 : 0);

/** Least-squares slope of y over t (seconds), per minute; 0 with fewer than 3 points. */
function slopePerMin(points: Array<[number, number]>): number {
  if (points.length < 3) return 0;
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

/** The gateway in this process (the short test): its figures include the load generator. */
async function gatewayInline(env: Record<string, string>): Promise<GatewayUnderTest> {
  const gateway = await startGateway(loadConfig({ ...env, PORT: '0' }), { logStream: new PassThrough().resume() });
  const url = await gateway.listen();
  const gc = (globalThis as { gc?: () => void }).gc;
  return {
    url,
    pid: undefined,
    memory: async (forceGc) => {
      if (forceGc) gc?.();
      const m = process.memoryUsage();
      return { rss: m.rss, heap: m.heapUsed };
    },
    inFlight: async () => ({ completions: gateway.inflight.size, streams: gateway.inflight.streams }),
    sockets: () => new Promise((r) => gateway.app.server.getConnections((_e, n) => r(n))),
    metrics: () => readMetrics(url),
    close: () => gateway.close(),
  };
}

/**
 * The gateway as its own process, `node dist/main.js` with `npm start`'s node flags (bench/procs.ts starts it, like the benchmark does). RSS is
 * read from /proc, heap and in-flight counts from its /metrics (admin key), open sockets from /proc/net/tcp.
 */
async function gatewayProcess(env: Record<string, string>, dataDir: string, nodeArgs: string[]): Promise<GatewayUnderTest> {
  const script = join(ROOT, 'dist', 'main.js');
  const port = await freePort();
  const proc = await startProc({
    name: 'gateway',
    script,
    env: { ...env, PORT: String(port), LOG_LEVEL: env['LOG_LEVEL'] === 'silent' ? 'error' : (env['LOG_LEVEL'] ?? 'error') },
    port,
    core: undefined,
    // not the repository: dist/main.js loads a .env from its working directory
    cwd: dataDir,
    readyPath: '/healthz',
    nodeArgs: [...startFlags(ROOT), ...nodeArgs],
  });
  const metrics = (): Promise<Map<string, number>> => readMetrics(proc.url);
  return {
    url: proc.url,
    pid: proc.pid,
    memory: async () => {
      const heap = (await metrics()).get('gateway_nodejs_heap_size_used_bytes') ?? NaN;
      return { rss: rssMb(proc.pid) * MB, heap };
    },
    inFlight: async () => {
      const m = await metrics();
      return { completions: m.get('gateway_completions_in_flight') ?? NaN, streams: m.get('gateway_streams_in_flight') ?? NaN };
    },
    sockets: async () => serverSockets(port),
    metrics,
    close: async () => {
      await proc.stop();
      if (proc.child.exitCode !== 0 && proc.child.signalCode === null) throw new Error(`gateway exited with ${String(proc.child.exitCode)}:\n${proc.output()}`);
    },
  };
}

/** The gateway's /metrics (admin key), each metric summed over its labels. */
async function readMetrics(url: string): Promise<Map<string, number>> {
  const res = await post(`${url}/metrics`, undefined, { authorization: `Bearer ${ADMIN_KEY}` }, { method: 'GET', timeoutMs: 10_000 });
  if (res.status !== 200) throw new Error(`gateway /metrics: ${res.status} ${res.body.slice(0, 200)}`);
  const values = new Map<string, number>();
  for (const line of res.body.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) values.set(m[1]!, (values.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return values;
}

/** TCP sockets on the gateway's side of `port` that are still open (not listening, not in TIME_WAIT or closed). */
function serverSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      const state = f[3];
      if (local === undefined || state === undefined || !local.endsWith(`:${hexPort}`)) continue;
      // 0A listen, 06 time-wait, 07 close: nothing held open by the gateway
      if (state !== '0A' && state !== '06' && state !== '07') n++;
    }
  }
  return n;
}

interface SimProcess {
  url: string;
  setKeyBehavior(key: string, spec: KeyBehaviorSpec): Promise<void>;
  stats(): Promise<SimStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The simulator in its own process (its own event loop, like the real upstream), steered through /__sim/*. */
async function spawnSimulator(keys: string[]): Promise<SimProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/simulator/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', SIM_PORT: '0', SIM_HOST: '127.0.0.1', SIM_KEYS: keys.join(','), SIM_DELTAS: '8', SIM_DELTA_INTERVAL_MS: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulator did not start: ${out}`)), 20_000);
    const onData = (b: Buffer): void => {
      out += b.toString('utf8');
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the simulator exited (${String(code)}): ${out}`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const control = async (path: string, body?: unknown): Promise<string> => {
    const res = await post(`${url}${path}`, body, {}, { agent, timeoutMs: 10_000 });
    if (res.status !== 200) throw new Error(`simulator ${path}: ${res.status} ${res.body}`);
    return res.body;
  };
  return {
    url,
    setKeyBehavior: async (key, spec) => void (await control(`/__sim/keys/${encodeURIComponent(key)}`, spec)),
    stats: async () => JSON.parse(await control('/__sim/stats')) as SimStats,
    reset: async () => void (await control('/__sim/reset', {})),
    close: () =>
      new Promise<void>((resolveClose) => {
        agent.destroy();
        if (child.exitCode !== null) return resolveClose();
        child.once('exit', () => resolveClose());
        child.kill('SIGTERM');
      }),
  };
}
