/**
 * Property tests of the upstream side: a scripted raw node:http "OnDemand" answers each query with arbitrary bytes
 * (valid and malformed frames, random bytes, invalid UTF-8, odd line endings, enormous lines, frames that never
 * end), split at random points, ending cleanly, with a reset, or never; sometimes with an error status or a broken
 * session answer. Whatever it does, every client answer is a chat completion, a complete chunk stream ([DONE] or
 * an error chunk at its end) or an OpenAI-shaped error; never a 500, never a cut socket; nothing stays open; the
 * gateway's heap does not grow with the number of runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { auth, post, shapeProblem, waitUntil } from './fault-helpers.js';
import { CLIENT_KEY } from './harness.js';

interface Script {
  session: { status: number; body: string } | undefined;
  status: number;
  contentType: string;
  chunks: Buffer[];
  /** ms to wait before each chunk (0: same tick) */
  gaps: number[];
  ending: 'end' | 'destroy' | 'hang';
}

/** The scripted upstream: sessions answer normally unless the script says otherwise; queries play the script. */
class ScriptedUpstream {
  url = '';
  script: Script | undefined;
  open = 0;
  queries = 0;
  private readonly server: Server;

  constructor() {
    this.server = createServer({ noDelay: true }, (req, res) => void this.handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    await new Promise((r) => req.once('end', r));
    const script = this.script;
    if (req.url === '/chat/v1/sessions') {
      const s = script?.session;
      res.writeHead(s?.status ?? 201, { 'content-type': 'application/json' });
      res.end(s?.body ?? '{"message":"ok","data":{"id":"0123456789abcdef01234567"}}');
      return;
    }
    if (!script || !/\/query$/.test(req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errorCode":"not_found","message":"nope"}');
      return;
    }
    this.queries++;
    this.open++;
    res.once('close', () => this.open--);
    res.writeHead(script.status, { 'content-type': script.contentType });
    res.flushHeaders();
    for (let i = 0; i < script.chunks.length; i++) {
      const gap = script.gaps[i % Math.max(1, script.gaps.length)] ?? 0;
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
      if (res.destroyed) return;
      res.write(script.chunks[i]);
    }
    if (script.ending === 'end') res.end();
    else if (script.ending === 'destroy') res.socket?.destroy();
    // 'hang': nothing more; the gateway's idle timeout must end it
  }
}

// ---- generators ------------------------------------------------------------------------------------------------

const frame = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;
const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constantFrom('', '\n', '\r\n', '[DONE]', '\u0000'));
const BIG_LINE = Buffer.from(`data: {"eventType":"fulfillment","answer":"${'a'.repeat(4 * 1024 * 1024 + 100)}"}`);

const piece: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: anyText.map((t) => Buffer.from(frame({ eventType: 'fulfillment', answer: t }))) },
  { weight: 1, arbitrary: anyText.map((t) => Buffer.from(frame({ eventType: 'fulfillment_thinking', thinking: { delta: t } }))) },
  {
    weight: 1,
    arbitrary: fc
      .record({ inputTokens: fc.oneof(fc.integer(), fc.double(), anyText), outputTokens: fc.oneof(fc.integer(), anyText), totalTokens: fc.jsonValue() })
      .map((m) => Buffer.from(frame({ eventType: 'metricsLog', publicMetrics: m }))),
  },
  { weight: 2, arbitrary: fc.constantFrom('data: [DONE]\n\n', 'data:[DONE]\r\n\r\n', 'data: [DONE]').map((s) => Buffer.from(s)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('data:[ERROR]:{"errorCode":"model_error","message":"boom"}\n\n', 'data: [ERROR] text\n\n', 'data:[ERROR]\n\n', 'data:[error]:{"error":{"code":1}}\n\n')
      .map((s) => Buffer.from(s)),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        frame({ eventType: 'heartbeat' }),
        frame({ eventType: 'statusLog', message: 'the whole answer again' }),
        frame({ eventType: 'planning_started' }),
        'event: fulfillment\n',
        ': comment\n',
        'id: 7\n',
        'retry: x\n',
        'data: {"eventType":"fulfillment","answer":\n\n',
        'data: {not json}\n\n',
        'data:\n\n',
        '\n\n\n',
        '\r',
        '\r\n',
        'data: {"eventType":"fulfillment","answer":"no end of frame"}',
      )
      .map((s) => Buffer.from(s)),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  {
    weight: 2,
    // invalid UTF-8: bad lead bytes, a truncated sequence, overlong, an encoded surrogate; inside and outside JSON
    arbitrary: fc
      .constantFrom([0xff, 0xfe], [0xc3], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80])
      .chain((bad) => fc.constantFrom(Buffer.from(bad), Buffer.concat([Buffer.from('data: {"eventType":"fulfillment","answer":"x'), Buffer.from(bad), Buffer.from('y"}\n\n')]))),
  },
  { weight: 1, arbitrary: fc.constant(BIG_LINE) },
);

const script: fc.Arbitrary<Script> = fc
  .record({
    session: fc.option(
      fc.record({
        status: fc.constantFrom(200, 201, 400, 401, 429, 500, 503),
        body: fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom('{"data":{}}', '{"data":{"id":""}}', '<html>error code: 1010</html>', '{"data":{"id":"abc"}}')),
      }),
      { freq: 8 },
    ),
    status: fc.oneof({ weight: 8, arbitrary: fc.constant(200) }, { weight: 2, arbitrary: fc.constantFrom(400, 401, 403, 404, 413, 429, 500, 502, 503, 504) }),
    contentType: fc.constantFrom('text/event-stream', 'text/event-stream; charset=utf-8', 'application/json', 'text/html', ''),
    pieces: fc.array(piece, { maxLength: 12 }),
    // a real answer start and a clean end in many runs, so the mid-stream paths are exercised too
    lead: fc.boolean(),
    tail: fc.oneof(
      fc.constant(''),
      fc.constant('data: [DONE]\n\n'),
      fc.constant(frame({ eventType: 'metricsLog', publicMetrics: { inputTokens: 1, outputTokens: 2 } }) + 'data:[DONE]\n\n'),
    ),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
    gaps: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }), { maxLength: 4 }),
    ending: fc.oneof(
      { weight: 7, arbitrary: fc.constant('end' as const) },
      { weight: 2, arbitrary: fc.constant('destroy' as const) },
      { weight: 1, arbitrary: fc.constant('hang' as const) },
    ),
  })
  .map(({ session, status, contentType, pieces, lead, tail, cuts, gaps, ending }) => {
    const all = Buffer.concat([Buffer.from(lead ? frame({ eventType: 'fulfillment', answer: 'Hello' }) : ''), ...pieces, Buffer.from(tail)]);
    const points = [...new Set(cuts.map((c) => (all.length === 0 ? 0 : c % all.length)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const p of points) {
      if (p > from) chunks.push(all.subarray(from, p));
      from = Math.max(from, p);
    }
    if (from < all.length) chunks.push(all.subarray(from));
    return { session: session ?? undefined, status, contentType, chunks, gaps, ending };
  });

// ---- the gateway in front of it ----------------------------------------------------------------------------

let upstream: ScriptedUpstream;
let gateway: Gateway;
let dataDir: string;

beforeAll(async () => {
  upstream = new ScriptedUpstream();
  await upstream.listen();
  dataDir = mkdtempSync(join(tmpdir(), 'odgw-fuzz-'));
  const config = loadConfig({
    PRIVATE_KEY: CLIENT_KEY,
    ONDEMAND_APIKEYS: 'od-fuzz-key-one-1111,od-fuzz-key-two-2222',
    ONDEMAND_BASE_URL: upstream.url,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    HEALTH_CHECK_INTERVAL: '0',
    MAX_ATTEMPTS: '1',
    ALL_KEYS_OUT_WAIT_MS: '0',
    CONNECT_TIMEOUT_MS: '500',
    FIRST_BYTE_TIMEOUT_MS: '500',
    IDLE_TIMEOUT_MS: '250',
    KEEPALIVE_PING_MS: '0',
    SHUTDOWN_GRACE_MS: '500',
  });
  gateway = await startGateway(config, { logStream: new PassThrough().resume() });
  await gateway.listen();
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Failures move keys out of the pool; put them back so every run reaches the scripted upstream. */
function healKeys(): void {
  for (const k of gateway.pool.list()) if (k.state !== 'active') gateway.pool.enable(k.fingerprint);
}

async function runOnce(s: Script, stream: boolean): Promise<void> {
  healKeys();
  upstream.script = s;
  const res = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'hi' }] }, auth(CLIENT_KEY), { timeoutMs: 10_000 });
  const context = `stream=${stream} status=${s.status} ending=${s.ending} chunks=${JSON.stringify(Buffer.concat(s.chunks).subarray(0, 300).toString('latin1'))} -> ${res.status} ${res.body.slice(0, 300)}`;
  expect(shapeProblem(res, stream), context).toBeUndefined();
  expect(res.status, context).not.toBe(500);
}

describe('fuzz: upstream byte streams', () => {
  it('every client answer is well-formed whatever the upstream sends', async () => {
    await fc.assert(fc.asyncProperty(script, fc.boolean(), runOnce), { numRuns: 100 });
    // nothing left open on either side (hung upstream streams end at the idle timeout)
    expect(await waitUntil(() => gateway.inflight.size === 0 && upstream.open === 0, 5_000)).toBe(true);
  });

  it('heap stays bounded over many runs, enormous lines included', async () => {
    const heavy = script.filter((s) => s.ending !== 'hang');
    const batch = (n: number, seed: number) => fc.assert(fc.asyncProperty(heavy, fc.boolean(), runOnce), { numRuns: n, seed });
    await batch(40, 1);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3; i++) await batch(40, 100 + i);
    // plus 20 enormous lines in a row: each must be dropped, not kept
    for (let i = 0; i < 20; i++) {
      await runOnce(
        {
          session: undefined,
          status: 200,
          contentType: 'text/event-stream',
          chunks: [Buffer.from(frame({ eventType: 'fulfillment', answer: 'a' })), BIG_LINE],
          gaps: [],
          ending: 'end',
        },
        i % 2 === 0,
      );
    }
    gc?.();
    const grown = process.memoryUsage().heapUsed - before;
    // 120 runs and 20 × 4 MiB lines went through; a leak of even one big line per run would be > 80 MiB
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect(await waitUntil(() => gateway.inflight.size === 0 && upstream.open === 0, 5_000)).toBe(true);
  });
});
