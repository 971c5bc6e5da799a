/**
 * The chaos run (issue 7), shared by `npm run chaos` (bench/chaos.ts) and its short version in the test suite
 * (test/chaos.short.test.ts). Loopback only, in one process: the simulator, the gateway, N client loops.
 *
 * Keys: a few "anchor" keys never fail, so at least one key is healthy at every moment; the others get a random
 * fault every epoch (401, 429, 5xx, resets, stalls, streams cut / failed / stalled before or after the first delta)
 * through the simulator's control API. Every answer a client gets is classified:
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
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../src/config/config.js';
import { startGateway } from '../src/gateway.js';
import type { KeyBehaviorSpec, SimStats } from '../src/simulator/types.js';
import { checkChatStream, parseJson, post, shapeProblem } from '../test/fault-helpers.js';

export interface ChaosOptions {
  seconds: number;
  clients: number;
  /** keys that get faults */
  faultyKeys?: number;
  /** keys that never fail */
  anchorKeys?: number;
  /** how often the faults change */
  epochMs?: number;
  /** progress lines (the CLI prints them) */
  log?: (line: string) => void;
  /** each client waits up to this many ms (random) between its requests (default 100) */
  thinkMs?: number;
  /** extra gateway settings */
  env?: Record<string, string>;
  seed?: number;
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
  /** the whole process (simulator excluded): gateway + load generator; rssEveryTenSecondsMB shows the trend */
  memory: { rssStartMB: number; rssPeakMB: number; rssEndMB: number; rssEveryTenSecondsMB: number[]; heapAfterWarmupMB: number; heapEndMB: number; externalEndMB: number; gcExposed: boolean };
  requestsPerSecond: number;
}

const CLIENT_KEY = 'sk-chaos-client-key-0123456789';
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
const TOTAL_WEIGHT = FAULTS.reduce((n, f) => n + f.weight, 0);

function pickFault(random: () => number): (typeof FAULTS)[number] {
  let r = random() * TOTAL_WEIGHT;
  for (const f of FAULTS) {
    r -= f.weight;
    if (r < 0) return f;
  }
  return FAULTS[0]!;
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

  const sim = await spawnSimulator(keys);
  const dataDir = mkdtempSync(join(tmpdir(), 'odgw-chaos-'));
  const config = loadConfig({
    PRIVATE_KEY: CLIENT_KEY,
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
  });
  const gateway = await startGateway(config, { logStream: new PassThrough().resume() });
  const url = await gateway.listen();
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });

  const gc = (globalThis as { gc?: () => void }).gc;
  const counts = { requests: 0, ok: 0, midstream: 0, prebyte: 0, malformed: 0 };
  const examples = { prebyte: [] as string[], malformed: [] as string[] };
  const faultsApplied: Record<string, number> = {};
  const note = (list: string[], text: string): void => {
    if (list.length < 8) list.push(text.slice(0, 400));
  };

  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  let faultsOn = true;

  // the fault schedule
  const chaos = (async () => {
    while (Date.now() < deadline) {
      for (const key of faultyList) {
        const f = pickFault(random);
        faultsApplied[f.name] = (faultsApplied[f.name] ?? 0) + 1;
        if (faultsOn) await sim.setKeyBehavior(key, f.spec);
      }
      await sleep(epochMs);
    }
  })();

  // progress and memory
  let heapAfterWarmup = 0;
  const rssSamples: number[] = [];
  const monitor = (async () => {
    let lastReport = Date.now();
    let warmed = false;
    while (Date.now() < deadline) {
      await sleep(250);
      const rss = process.memoryUsage().rss;
      rssPeak = Math.max(rssPeak, rss);
      if (!warmed && Date.now() - started > Math.min(10_000, (opts.seconds * 1000) / 5)) {
        warmed = true;
        gc?.();
        heapAfterWarmup = process.memoryUsage().heapUsed;
      }
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        rssSamples.push(Math.round(rss / MB));
        log(
          `${Math.round((Date.now() - started) / 1000)}s: ${counts.requests} requests, ok ${counts.ok}, midstream ${counts.midstream}, ` +
            `prebyte ${counts.prebyte}, malformed ${counts.malformed}, in flight ${gateway.inflight.size}, rss ${Math.round(rss / MB)} MB`,
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

  await Promise.all([chaos, monitor, ...Array.from({ length: opts.clients }, (_, i) => client(i))]);
  const elapsed = (Date.now() - started) / 1000;

  // faults off; nothing may be left running
  faultsOn = false;
  await sim.reset();
  agent.destroy();
  const sockets = (): Promise<number> => new Promise((r) => gateway.app.server.getConnections((_e, n) => r(n)));
  let openSockets = await sockets();
  let simOpen = (await sim.stats()).openStreams;
  for (let i = 0; i < 250 && (gateway.inflight.size > 0 || simOpen > 0); i++) {
    await sleep(20);
    simOpen = (await sim.stats()).openStreams;
  }
  const settled = gateway.inflight.size === 0 && simOpen === 0;
  for (let i = 0; i < 100 && openSockets > 0; i++) {
    await sleep(20);
    openSockets = await sockets();
  }
  gc?.();
  const end = {
    gatewayInFlight: gateway.inflight.size,
    gatewayStreams: gateway.inflight.streams,
    simOpenStreams: simOpen,
    gatewaySockets: openSockets,
    settled,
  };
  const memory = {
    rssStartMB: Math.round(rssStart / MB),
    rssPeakMB: Math.round(rssPeak / MB),
    rssEndMB: Math.round(process.memoryUsage().rss / MB),
    rssEveryTenSecondsMB: rssSamples,
    heapAfterWarmupMB: Math.round(heapAfterWarmup / MB),
    heapEndMB: Math.round(process.memoryUsage().heapUsed / MB),
    externalEndMB: Math.round(process.memoryUsage().external / MB),
    gcExposed: gc !== undefined,
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
    requestsPerSecond: Math.round(counts.requests / Math.max(1, elapsed)),
  };
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
