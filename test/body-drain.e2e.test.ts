/**
 * Errors a whole-body client can read: a client that writes its whole request before it reads anything (httpx, so
 * the openai Python SDK; Python's http.client) gets the 413 for a body over BODY_LIMIT_BYTES, and the 431 for a head
 * over MAX_HEADER_BYTES, instead of a reset connection. The gateway reads and drops the rest of such a request, up to
 * DRAIN_MAX_BYTES and DRAIN_MAX_MS, then closes; a client that keeps sending past a cap is cut, and the gateway
 * serves on. Raw sockets on loopback, so no client library smooths anything over.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from './fault-helpers.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const MiB = 1024 * 1024;
/** DRAIN_MAX_BYTES of the byte-cap gateway: far above what loopback socket buffers hold (a few MiB) */
const BYTE_CAP = 128 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 'x');
const PREFIX = '{"model":"gpt-4o","messages":[{"role":"user","content":"';
const SUFFIX = '"}]}';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Status line, headers and the Content-Length-framed body of one raw HTTP/1.1 answer. */
function parseAnswer(raw: string): Answer {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = split < 0 ? '' : raw.slice(split + 4);
  const length = Number(headers['content-length'] ?? rest.length);
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), headers, body: parseJson(rest.slice(0, length)) };
}

function requestHead(url: string, framing: string, extra = ''): string {
  return (
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${new URL(url).host}\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n` + `Content-Type: application/json\r\n${extra}${framing}\r\n\r\n`
  );
}

function open(url: string): Socket {
  const { hostname, port } = new URL(url);
  // half-open allowed: the gateway's FIN after its answer must not stop this client's writing, only a cut may
  return connect({ host: hostname, port: Number(port), allowHalfOpen: true });
}

/** Writes with backpressure; rejects with the socket's error (EPIPE, ECONNRESET) if the gateway cuts it. */
function write(socket: Socket, data: Buffer | string): Promise<void> {
  if (socket.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      socket.off('drain', done);
      socket.off('error', done);
      socket.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const closed = (): void => done(Object.assign(new Error('socket closed'), { code: 'CLOSED' }));
    socket.once('drain', done);
    socket.once('error', done);
    socket.once('close', closed);
  });
}

/** `bytes` of a JSON-looking body, in 64 KiB pieces, as is or as HTTP chunks. */
async function writeBody(socket: Socket, bytes: number, chunked: boolean): Promise<void> {
  const piece = async (data: Buffer): Promise<void> => {
    if (chunked) await write(socket, `${data.length.toString(16)}\r\n`);
    await write(socket, data);
    if (chunked) await write(socket, '\r\n');
  };
  await piece(Buffer.from(PREFIX));
  let left = bytes - PREFIX.length - SUFFIX.length;
  while (left > 0) {
    const n = Math.min(left, CHUNK.length);
    await piece(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    left -= n;
  }
  await piece(Buffer.from(SUFFIX));
  if (chunked) await write(socket, '0\r\n\r\n');
}

/**
 * A whole-body client: writes the head and all of the body, only then reads the answer (to the gateway's close).
 * Rejects, as httpx or http.client would fail, if the connection is cut before the answer could be read.
 */
async function wholeBody(url: string, opts: { bytes: number; chunked: boolean; extraHead?: string }): Promise<Answer> {
  const socket = open(url);
  const errored = new Promise<never>((_resolve, reject) => socket.once('error', reject));
  errored.catch(() => {});
  try {
    await Promise.race([new Promise((r) => socket.once('connect', r)), errored]);
    const framing = opts.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${opts.bytes}`;
    await write(socket, requestHead(url, framing, opts.extraHead));
    await writeBody(socket, opts.bytes, opts.chunked);
    // nothing was read so far (the answer waits in buffers); now read it, to the gateway's FIN
    const text = await Promise.race([
      new Promise<string>((resolve) => {
        let raw = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => (raw += d));
        socket.once('end', () => resolve(raw));
      }),
      errored,
    ]);
    return parseAnswer(text);
  } finally {
    socket.destroy();
  }
}

interface Flood {
  answer: Answer;
  /** bytes this client got into the socket before it was cut */
  wrote: number;
  /** ms from the answer's arrival to the cut */
  cutAfterMs: number;
  code: string;
}

/**
 * A client that reads as it goes but never stops sending (declared Content-Length far above anything): `pace` null
 * writes as fast as the socket takes it, else one piece every `pace` ms. Resolves once the gateway cuts it.
 */
function flood(url: string, pace: number | null, capMs = 8_000): Promise<Flood> {
  const socket = open(url);
  let raw = '';
  let answeredAt = 0;
  let wrote = 0;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    raw += d;
    if (answeredAt === 0) answeredAt = Date.now();
  });
  return new Promise<Flood>((resolve, reject) => {
    let over = false;
    const finish = (code: string): void => {
      if (over) return;
      over = true;
      clearTimeout(cap);
      socket.destroy();
      if (answeredAt === 0) reject(new Error(`cut (${code}) before any answer`));
      else resolve({ answer: parseAnswer(raw), wrote, cutAfterMs: Date.now() - answeredAt, code });
    };
    const cap = setTimeout(() => {
      over = true;
      socket.destroy();
      reject(new Error(`still connected after ${capMs} ms and ${wrote} bytes: the gateway did not cut a client sending forever`));
    }, capMs);
    socket.on('error', (err: Error & { code?: string }) => finish(err.code ?? 'error'));
    socket.on('close', () => finish('CLOSED'));
    socket.once('connect', () => {
      void (async () => {
        await write(socket, requestHead(url, `Content-Length: ${1024 * 1024 * MiB}`));
        while (!over) {
          await write(socket, CHUNK);
          wrote += CHUNK.length;
          if (pace !== null) await new Promise((r) => setTimeout(r, pace));
        }
      })().catch(() => {}); // the cut shows as the socket's error or close, handled above
    });
  });
}

async function chatWorks(stack: Stack): Promise<void> {
  const res = await fetch(`${stack.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, connection: 'close' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'say hello please' }] }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
}

function expect413(answer: Answer): void {
  expect(answer.status).toBe(413);
  expect(answer.headers['connection']).toBe('close');
  expect(answer.body).toEqual({
    error: {
      message: 'The request body is larger than this gateway accepts (BODY_LIMIT_BYTES).',
      type: 'invalid_request_error',
      param: null,
      code: 'request_too_large',
    },
  });
}

let stack: Stack;
let byteCap: Stack;
let timeCap: Stack;

beforeAll(async () => {
  // default drain caps (64 MiB, 10 s): a 30 MB body is read to its end on loopback
  stack = await startStack({ env: { BODY_LIMIT_BYTES: String(MiB) } });
  byteCap = await startStack({ env: { BODY_LIMIT_BYTES: String(MiB), DRAIN_MAX_BYTES: String(BYTE_CAP), DRAIN_MAX_MS: '20000' } });
  timeCap = await startStack({ env: { BODY_LIMIT_BYTES: String(MiB), DRAIN_MAX_BYTES: String(1024 * MiB), DRAIN_MAX_MS: '700' } });
});

afterAll(async () => {
  await Promise.all([stack?.close(), byteCap?.close(), timeCap?.close()]);
});

describe('a whole-body client reads the error', () => {
  it.each([
    ['Content-Length', false],
    ['chunked', true],
  ])('30 MB with %s, ten connections in a row: ten 413s read in full, then a normal request works', async (_name, chunked) => {
    for (let i = 0; i < 10; i++) {
      const answer = await wholeBody(stack.url, { bytes: 30_000_000, chunked });
      expect413(answer);
    }
    await chatWorks(stack);
  });

  it('a head over MAX_HEADER_BYTES with a 4 MB body behind it: the 431 is read in full', async () => {
    const answer = await wholeBody(stack.url, { bytes: 4_000_000, chunked: false, extraHead: `X-Big: ${'h'.repeat(32 * 1024)}\r\n` });
    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_headers_too_large' } });
    await chatWorks(stack);
  });
});

describe('the drain is capped', () => {
  it('a client sending forever as fast as it can is cut after DRAIN_MAX_BYTES, long before DRAIN_MAX_MS, nothing kept', async () => {
    const started = Date.now();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 10);
    const cut = await flood(byteCap.url, null).finally(() => clearInterval(sampler));
    expect413(cut.answer);
    expect(['EPIPE', 'ECONNRESET', 'CLOSED']).toContain(cut.code);
    // read past the cap (more than the kernel's buffers could hold: it was drained, not cut at the answer)...
    expect(cut.wrote).toBeGreaterThan(BYTE_CAP);
    // ...and then cut: the cap plus what the kernel's buffers held, nothing like "forever"
    expect(cut.wrote).toBeLessThan(BYTE_CAP + 64 * MiB);
    expect(Date.now() - started).toBeLessThan(5_000);
    // the drained bytes were dropped as they came (the gateway runs in this process): well under what went through
    expect(peak).toBeLessThan((BYTE_CAP * 3) / 4);
    await chatWorks(byteCap);
    expect413(await wholeBody(byteCap.url, { bytes: 1_500_000, chunked: false }));
  });

  it('a client trickling forever is cut after DRAIN_MAX_MS', async () => {
    const cut = await flood(timeCap.url, 20);
    expect413(cut.answer);
    expect(['EPIPE', 'ECONNRESET', 'CLOSED']).toContain(cut.code);
    expect(cut.cutAfterMs).toBeGreaterThanOrEqual(500);
    expect(cut.cutAfterMs).toBeLessThan(3_000);
    await chatWorks(timeCap);
    expect413(await wholeBody(timeCap.url, { bytes: 3_000_000, chunked: true }));
  });
});
