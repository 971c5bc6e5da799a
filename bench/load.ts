/**
 * The benchmark's own load generator (autocannon does the closed-loop throughput run): one request at a time for
 * the latency comparisons, and N concurrent streams each read by its own timer-free loop that stamps every network
 * read with performance.now(). A target is either a proxy (OpenAI chat completions in front) or "direct": the
 * load generator makes the two OnDemand calls itself (session, then the query: sync for a plain answer, stream for
 * a streamed one), as a client without any proxy would.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface Target {
  name: string;
  /** hop: one GET of a path that answers at once, on a proxy's core: what any proxy's extra exchange costs */
  kind: 'direct' | 'proxy' | 'hop';
  /** origin: the proxy, or the simulator for direct */
  url: string;
}

export const CLIENT_KEY = 'sk-bench-client-key-0000000000';
export const UPSTREAM_KEYS = ['od-bench-key-a1', 'od-bench-key-b2', 'od-bench-key-c3', 'od-bench-key-d4'];
const ENDPOINT = 'predefined-openai-gpt4o';
const PROMPT = 'Say something about the benchmark';

/**
 * Clients send max_tokens 512: above the streamed answer's 64 × 4 tokens, below its 1,024 bytes, so a gateway that
 * enforces the limit counts tokens as it would for a real client.
 */
export const MAX_TOKENS = 512;
export const chatBody = (stream: boolean): string => JSON.stringify({ model: 'gpt-4o', stream, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: PROMPT }] });
export const chatHeaders = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' };

/** The gateway's settings in the benchmarks: the shared harness's; the rest are the shipped defaults. */
export const gatewayEnv = (upstreamUrl: string, port: number, dataDir: string): Record<string, string> => ({
  PRIVATE_KEY: CLIENT_KEY,
  ONDEMAND_APIKEYS: UPSTREAM_KEYS.join(','),
  ONDEMAND_BASE_URL: upstreamUrl,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  MAX_STREAMS_PER_CLIENT: '0',
  DATA_DIR: dataDir,
});

/** what marks a network read as carrying answer text */
const PROXY_CONTENT = Buffer.from('{"content":');
const DIRECT_CONTENT = Buffer.from('"eventType":"fulfillment"');
const DONE = Buffer.from('[DONE]');

const upstreamHeaders = (key: string) => ({ 'content-type': 'application/json', 'user-agent': 'bench-direct/1.0', apikey: key });
let directCalls = 0;

export function dispatcherFor(target: Target, connections: number): Pool {
  return new Pool(target.url, { connections, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

/** Start the exchange: the proxy's chat completion, or the session + streamed query made directly. */
async function open(target: Target, pool: Pool, stream: boolean) {
  if (target.kind === 'proxy') {
    return pool.request({ method: 'POST', path: '/v1/chat/completions', headers: chatHeaders, body: chatBody(stream) });
  }
  const key = UPSTREAM_KEYS[directCalls++ % UPSTREAM_KEYS.length]!;
  const session = await pool.request({
    method: 'POST',
    path: '/chat/v1/sessions',
    headers: upstreamHeaders(key),
    body: JSON.stringify({ externalUserId: `direct-${directCalls}`, pluginIds: [] }),
  });
  if (session.statusCode !== 201 && session.statusCode !== 200) throw new Error(`session ${session.statusCode}`);
  const id = ((await session.body.json()) as { data: { id: string } }).data.id;
  return pool.request({
    method: 'POST',
    path: `/chat/v1/sessions/${id}/query`,
    headers: upstreamHeaders(key),
    body: JSON.stringify({ query: PROMPT, endpointId: ENDPOINT, responseMode: stream ? 'stream' : 'sync', pluginIds: [] }),
  });
}

/** One non-streamed exchange, read to the end; milliseconds from sending to the last byte. */
export async function timedRequest(target: Target, pool: Pool): Promise<number> {
  if (target.kind === 'hop') {
    const t0 = performance.now();
    const res = await pool.request({ method: 'GET', path: '/' });
    await res.body.dump();
    return performance.now() - t0;
  }
  const started = performance.now();
  const res = await open(target, pool, false);
  const body = Buffer.from(await res.body.arrayBuffer());
  const ms = performance.now() - started;
  if (res.statusCode !== 200) throw new Error(`${target.name}: status ${res.statusCode}: ${body.toString('utf8').slice(0, 200)}`);
  return ms;
}

export interface StreamResult {
  ok: boolean;
  /** ms from sending to the first read with answer text */
  ttftMs: number;
  /** ms between consecutive reads with answer text */
  gaps: number[];
  error?: string;
}

/** One streamed exchange, every read stamped; no timers and no promise per chunk on this path. */
export async function timedStream(target: Target, pool: Pool): Promise<StreamResult> {
  const marker = target.kind === 'proxy' ? PROXY_CONTENT : DIRECT_CONTENT;
  const started = performance.now();
  const gaps: number[] = [];
  let ttftMs = NaN;
  let last = 0;
  let done = false;
  try {
    const res = await open(target, pool, true);
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { ok: false, ttftMs, gaps, error: `status ${res.statusCode}` };
    }
    await new Promise<void>((resolve, reject) => {
      res.body.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (chunk.indexOf(marker) >= 0) {
          if (Number.isNaN(ttftMs)) ttftMs = now - started;
          else gaps.push(now - last);
          last = now;
        }
        if (!done && chunk.indexOf(DONE) >= 0) done = true;
      });
      res.body.once('end', resolve);
      res.body.once('error', reject);
    });
    return done ? { ok: true, ttftMs, gaps } : { ok: false, ttftMs, gaps, error: 'no [DONE]' };
  } catch (err) {
    return { ok: false, ttftMs, gaps, error: (err as Error).message };
  }
}

/** Open `n` keep-alive connections to the target before a phase, so no stream pays for a TCP handshake. */
async function preconnect(target: Target, pool: Pool, n: number): Promise<void> {
  const path = target.kind === 'proxy' ? '/healthz' : '/__mock/options';
  await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await pool.request({ method: 'GET', path });
      await res.body.dump();
    }),
  );
}

/**
 * N connections, their first streams started evenly over rampMs; each connection then runs streams back to back
 * until durationMs has passed since the phase began. Resolves with every stream's result.
 */
export async function concurrentStreams(target: Target, n: number, rampMs: number, durationMs = 0): Promise<StreamResult[]> {
  const pool = dispatcherFor(target, n);
  await preconnect(target, pool, n);
  const results: StreamResult[] = [];
  const lanes: Promise<void>[] = [];
  const perMs = n / Math.max(1, rampMs);
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    do results.push(await timedStream(target, pool));
    while (performance.now() - t0 < durationMs);
  };
  for (let i = 0; i < n; i++) {
    const due = i / perMs;
    const wait = due - (performance.now() - t0);
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    lanes.push(lane());
  }
  await Promise.all(lanes);
  await pool.close();
  return results;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function sortedOf(xs: readonly number[]): number[] {
  return [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}
