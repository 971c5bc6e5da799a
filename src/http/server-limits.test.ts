import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { type DrainCaps, lingerClose, StreamCounter } from './server-limits.js';

const ANSWER = 'HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

interface Served {
  client: Socket;
  /** resolves when the server side of the connection is closed, with what it had read and how long it lingered */
  closed: Promise<{ bytesRead: number; ms: number }>;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A loopback server that answers at once and lingers (without a parser: the 431 case), and a client to it. */
async function serve(caps: DrainCaps): Promise<Served> {
  let onClosed!: (v: { bytesRead: number; ms: number }) => void;
  const closed = new Promise<{ bytesRead: number; ms: number }>((r) => (onClosed = r));
  server = createServer({ allowHalfOpen: true }, (socket) => {
    const started = Date.now();
    socket.on('error', () => {});
    socket.on('close', () => onClosed({ bytesRead: socket.bytesRead, ms: Date.now() - started }));
    socket.write(ANSWER);
    lingerClose(socket, caps);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const client = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  client.on('error', () => {});
  await new Promise((r) => client.once('connect', r));
  return { client, closed };
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.once('end', () => resolve(text));
    socket.once('close', () => resolve(text));
  });
}

/** Writes as fast as the socket takes it until it fails; resolves with the bytes written. */
async function writeForever(socket: Socket): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let wrote = 0;
  while (!socket.destroyed && socket.writable) {
    const ok = socket.write(chunk);
    wrote += chunk.length;
    if (!ok) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
  }
  return wrote;
}

describe('lingerClose', () => {
  it('reads and drops what the client still sends, which reads the answer after its last byte; closes on the client FIN', async () => {
    const { client, closed } = await serve({ maxBytes: 64 * 1024 * 1024, maxMs: 5_000 });
    const body = Buffer.alloc(8 * 1024 * 1024, 'y');
    await new Promise<void>((r) => client.write(body, () => r()));
    const text = await readAll(client); // nothing read before: the answer and the FIN waited in the buffers
    expect(text).toBe(ANSWER);
    client.end();
    const { bytesRead, ms } = await closed;
    expect(bytesRead).toBe(body.length);
    expect(ms).toBeLessThan(5_000);
    client.destroy();
  });

  it('cuts a client that sends past maxBytes', async () => {
    const { client, closed } = await serve({ maxBytes: 1024 * 1024, maxMs: 20_000 });
    const wrote = writeForever(client);
    const { bytesRead, ms } = await closed;
    expect(bytesRead).toBeGreaterThan(1024 * 1024);
    expect(bytesRead).toBeLessThan(2 * 1024 * 1024); // cut on the first read past the cap
    expect(ms).toBeLessThan(5_000);
    expect(await wrote).toBeGreaterThan(1024 * 1024);
  });

  it('cuts a connection still open after maxMs', async () => {
    const { client, closed } = await serve({ maxBytes: 1024 * 1024, maxMs: 200 });
    const { ms } = await closed;
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(ms).toBeLessThan(2_000);
    client.destroy();
  });

  it('with a cap of 0 closes as soon as the answer is written', async () => {
    const { client, closed } = await serve({ maxBytes: 0, maxMs: 10_000 });
    expect(await readAll(client)).toBe(ANSWER);
    expect((await closed).ms).toBeLessThan(1_000);
    client.destroy();
  });
});

describe('drain settings', () => {
  const base = { PRIVATE_KEY: 'k', ONDEMAND_APIKEYS: 'u' };

  it('default to 64 MiB and 10 s', () => {
    const config = loadConfig(base);
    expect(config.DRAIN_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect(config.DRAIN_MAX_MS).toBe(10_000);
  });

  it('take 0 (close at once) and refuse negative or fractional values', () => {
    expect(loadConfig({ ...base, DRAIN_MAX_BYTES: '0', DRAIN_MAX_MS: '0' })).toMatchObject({ DRAIN_MAX_BYTES: 0, DRAIN_MAX_MS: 0 });
    expect(() => loadConfig({ ...base, DRAIN_MAX_BYTES: '-1' })).toThrow(/DRAIN_MAX_BYTES/);
    expect(() => loadConfig({ ...base, DRAIN_MAX_MS: '1.5' })).toThrow(/DRAIN_MAX_MS/);
  });
});

describe('StreamCounter', () => {
  it('counts a client up to its limit, then refuses with 429; a release makes room again, once', () => {
    const counter = new StreamCounter(2);
    const first = counter.enter('k1');
    counter.enter('k1');
    expect(() => counter.enter('k1')).toThrow(expect.objectContaining({ status: 429 }));
    expect(counter.count('k2')).toBe(0);
    first();
    first();
    expect(counter.count('k1')).toBe(1);
    expect(() => counter.enter('k1')).not.toThrow();
  });

  it('keeps an idle client at 0, and drops the idle ones once more than 1,024 clients are known', () => {
    const counter = new StreamCounter(0);
    counter.enter('busy');
    counter.enter('idle')();
    expect(counter.count('idle')).toBe(0);
    expect(counter.clientsKnown).toBe(2);
    for (let i = 0; i < 1022; i++) counter.enter(`c${i}`)();
    expect(counter.clientsKnown).toBe(1024);
    counter.enter('c1022')();
    // the release that found 1,025 known dropped every idle one
    expect(counter.clientsKnown).toBe(1);
    expect(counter.count('busy')).toBe(1);
  });
});
