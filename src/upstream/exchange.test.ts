import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonExchange, QueryStream } from './exchange.js';
import type { UpstreamFailure } from '../ondemand/failure.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import { Pool } from '../runtime/undici-lean.js';

type PoolOptions = ConstructorParameters<typeof Pool>[1];

/** One server whose answer each test sets; it records how many sockets it saw open and closed. */
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
let server: Server;
let origin = '';
const sockets = { opened: 0, closed: 0 };

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  server.on('connection', (s: Socket) => {
    sockets.opened++;
    s.on('close', () => sockets.closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function pool(opts: PoolOptions = {}): Pool {
  return new Pool(origin, { connections: 4, ...opts });
}

const OPTS = { method: 'POST' as const, path: '/x', headers: { 'content-type': 'application/json' }, body: '{}' };

async function json(p: Pool, signal?: AbortSignal): Promise<unknown> {
  const ex = new JsonExchange('session', signal);
  p.dispatch(OPTS, ex);
  return ex.answer;
}

async function query(p: Pool, signal?: AbortSignal): Promise<QueryStream> {
  const stream = new QueryStream(signal);
  p.dispatch(OPTS, stream);
  return stream.opened;
}

async function readAll(stream: QueryStream): Promise<UpstreamEvent[]> {
  const all: UpstreamEvent[] = [];
  for (;;) {
    const batch = await stream.next();
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function failureOf(p: Promise<unknown>): Promise<UpstreamFailure> {
  try {
    await p;
  } catch (err) {
    return err as UpstreamFailure;
  }
  throw new Error('expected a failure');
}

const frame = (answer: string): string => `data:${JSON.stringify({ eventType: 'fulfillment', answer })}\n\n`;
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `n` answer frames ("0", "1", …) ten at a time each millisecond, then [DONE]: the body arrives in many reads, so a pause leaves the rest in the socket */
function trickle(n: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const more = (): void => {
      for (let k = 0; k < 10 && i < n; k++, i++) res.write(frame(String(i)));
      if (i < n) setTimeout(more, 1);
      else res.end('data:[DONE]\n\n');
    };
    more();
  };
}

describe('JsonExchange', () => {
  it.each([
    ['one chunk', ['{"data":{"id":"s1"}}'], { data: { id: 's1' } }],
    ['split across chunks, a character split too', ['{"data":{"id":"é', '"}}'].map((s) => Buffer.from(s)), { data: { id: 'é' } }],
  ])('reads a 2xx answer: %s', async (_name, parts, expected) => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const bytes = Buffer.concat(parts.map((p) => Buffer.from(p)));
      // split inside the two-byte é when there is one
      const cut = bytes.indexOf(0xc3) >= 0 ? bytes.indexOf(0xc3) + 1 : bytes.length;
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.end(bytes.subarray(cut)), 5);
    };
    const p = pool();
    try {
      expect(await json(p)).toEqual(expected);
    } finally {
      await p.close();
    }
  });

  it.each([
    [
      'OnDemand JSON error',
      429,
      { 'content-type': 'application/json', 'retry-after': '7' },
      '{"errorCode":"rate_limit_exceeded","message":"slow down"}',
      { kind: 'http', phase: 'session', status: 429, errorCode: 'rate_limit_exceeded', upstreamMessage: 'slow down', retryAfterSec: 7, htmlBody: false },
    ],
    ['edge HTML page', 403, { 'content-type': 'text/html' }, '<html>Error code: 1020</html>', { kind: 'http', status: 403, errorCode: 'edge_1020', htmlBody: true }],
    ['no body', 500, {}, '', { kind: 'http', status: 500, errorCode: undefined, htmlBody: false }],
  ])('a non-2xx answer fails with what its body says: %s', async (_name, status, headers, body, expected) => {
    handler = (_req, res) => res.writeHead(status, headers).end(body);
    const p = pool();
    try {
      expect(await failureOf(json(p))).toMatchObject(expected);
    } finally {
      await p.close();
    }
  });

  it('an error body is read up to 64 KiB only', async () => {
    handler = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(200_000));
    const p = pool();
    try {
      expect(await failureOf(json(p))).toMatchObject({ kind: 'http', status: 500 });
    } finally {
      await p.close();
    }
  });

  it('a 2xx answer that is not JSON fails as invalid JSON', async () => {
    handler = (_req, res) => res.writeHead(200).end('<html>');
    const p = pool();
    try {
      expect(await failureOf(json(p))).toMatchObject({ kind: 'http', status: 502, message: 'upstream answered with invalid JSON' });
    } finally {
      await p.close();
    }
  });

  it('a first-byte timeout and a refused connection map to their kinds', async () => {
    handler = () => undefined; // never answers
    const slow = pool({ headersTimeout: 50 });
    const nowhere = new Pool('http://127.0.0.1:1', { connections: 1 });
    try {
      expect(await failureOf(json(slow))).toMatchObject({ kind: 'first_byte_timeout', phase: 'session' });
      expect(await failureOf(json(nowhere))).toMatchObject({ kind: 'network', phase: 'session' });
    } finally {
      await slow.destroy();
      await nowhere.close();
    }
  });

  it('a signal aborted before or during the exchange fails it as client_aborted', async () => {
    handler = () => undefined;
    const p = pool();
    try {
      const ac = new AbortController();
      const pending = json(p, ac.signal);
      await delay(20);
      ac.abort();
      expect(await failureOf(pending)).toMatchObject({ kind: 'client_aborted', phase: 'session' });
    } finally {
      await p.destroy();
    }
  });
});

describe('QueryStream', () => {
  it('hands the reader every event parsed since its last call, then [] at the end', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a') + frame('b'));
      setTimeout(() => {
        res.write(frame('c'));
        setTimeout(() => res.end('data:[DONE]\n\n'), 10);
      }, 10);
    };
    const p = pool();
    try {
      const stream = await query(p);
      expect(await stream.next()).toEqual([
        { type: 'delta', text: 'a' },
        { type: 'delta', text: 'b' },
      ]);
      expect(await stream.next()).toEqual([{ type: 'delta', text: 'c' }]);
      expect(await stream.next()).toEqual([{ type: 'done' }]);
      expect(await stream.next()).toEqual([]);
      expect(await stream.next()).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('a reader that falls far behind loses nothing (the socket is paused, then resumed)', async () => {
    const n = 3000;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < n; i++) res.write(frame(String(i)));
      res.end('data:[DONE]\n\n');
    };
    const p = pool();
    try {
      const stream = await query(p);
      await delay(100); // everything has arrived or is held back by the pause
      const events = await readAll(stream);
      expect(events).toHaveLength(n + 1);
      expect(events.slice(0, n).map((e) => (e as { text: string }).text)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    } finally {
      await p.close();
    }
  });

  it('a reader that does not read holds the upstream back: the socket is paused past the high-water mark', async () => {
    const n = 2000;
    handler = trickle(n);
    const p = pool();
    try {
      const stream = await query(p);
      await delay(400);
      const first = await stream.next();
      // unpaused, every event would be queued by now; paused, the queue stops one read past 256 events
      expect(first.length).toBeGreaterThanOrEqual(256);
      expect(first.length).toBeLessThan(600);
      const rest = await readAll(stream);
      expect(first.length + rest.length).toBe(n + 1);
    } finally {
      await p.close();
    }
  });

  /** A listener that records what it is told, and holds the stream whenever `holdAfter` says so. */
  function recorder(stream: QueryStream, holdAfter: (seen: number) => boolean = () => false) {
    const seen: UpstreamEvent[] = [];
    const batches: number[] = [];
    const log: string[] = [];
    let resolveOver: () => void;
    const over = new Promise<void>((r) => (resolveOver = r));
    stream.listen({
      read: (batch) => {
        seen.push(...batch);
        batches.push(batch.length);
        if (holdAfter(seen.length)) stream.hold();
      },
      end: () => {
        log.push('end');
        resolveOver();
      },
      fail: (failure) => {
        log.push(`fail:${failure.kind}`);
        resolveOver();
      },
    });
    return { seen, batches, log, over };
  }

  it('a listener gets every event in order as the chunks arrive, including what waited from before it listened, then the end once', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a') + frame('b'));
      setTimeout(() => res.write(frame('c')), 20);
      setTimeout(() => res.end('data:[DONE]\n\n'), 40);
    };
    const p = pool();
    try {
      const stream = await query(p);
      await delay(10); // a and b are queued before anyone listens
      const { seen, log, over } = recorder(stream);
      await over;
      expect(seen).toEqual([{ type: 'delta', text: 'a' }, { type: 'delta', text: 'b' }, { type: 'delta', text: 'c' }, { type: 'done' }]);
      expect(log).toEqual(['end']);
    } finally {
      await p.close();
    }
  });

  it('a listener that holds stops the socket; on release it gets what waited, then the rest, in order and whole', async () => {
    const n = 2000;
    handler = trickle(n);
    const p = pool();
    try {
      const stream = await query(p);
      let held = false;
      const { seen, batches, log, over } = recorder(stream, (count) => {
        if (held || count < 20) return false;
        held = true;
        return true;
      });
      await until(() => seen.length >= 20);
      await delay(300);
      const readsBefore = batches.length;
      expect(seen.length).toBeLessThan(40); // nothing reaches a listener that holds
      stream.release();
      // what waited comes first, in one read: held, the socket stops at once, so at most the rest of the chunk in
      // hand waited; not held, the queue would have run up to the pulling readers' high-water mark (256 events)
      expect(batches[readsBefore]).toBeLessThan(200);
      await over;
      expect(log).toEqual(['end']);
      expect(seen.length).toBe(n + 1);
      expect(seen.slice(0, n).map((e) => (e.type === 'delta' ? e.text : e.type))).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    } finally {
      await p.close();
    }
  });

  it('a listener is told of a cut (fail) and of the signal aborting, and nothing after destroy()', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a'));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const p = pool();
    try {
      const cut = recorder(await query(p));
      await cut.over;
      expect(cut.seen).toEqual([{ type: 'delta', text: 'a' }]);
      expect(cut.log).toEqual(['fail:network']);

      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(frame('a'));
      };
      const ac = new AbortController();
      const aborted = recorder(await query(p, ac.signal));
      await until(() => aborted.seen.length === 1);
      ac.abort();
      await aborted.over;
      expect(aborted.log).toEqual(['fail:client_aborted']);

      const stream = await query(p);
      const destroyed = recorder(stream);
      await until(() => destroyed.seen.length === 1);
      stream.destroy();
      await delay(20);
      expect(destroyed.log).toEqual([]);
    } finally {
      await p.destroy();
    }
  });

  it('a non-2xx answer rejects `opened` in the query phase; a cut after it fails the reader in the stream phase', async () => {
    const p = pool();
    try {
      handler = (_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"session not found"}');
      expect(await failureOf(query(p))).toMatchObject({ kind: 'http', phase: 'query', status: 404, upstreamMessage: 'session not found' });

      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(frame('a'));
        setTimeout(() => res.socket?.destroy(), 20);
      };
      const stream = await query(p);
      expect(await stream.next()).toEqual([{ type: 'delta', text: 'a' }]);
      expect(await failureOf(stream.next())).toMatchObject({ kind: 'network', phase: 'stream' });
      expect(await failureOf(stream.next())).toMatchObject({ kind: 'network', phase: 'stream' });
    } finally {
      await p.close();
    }
  });

  it('an idle stream times out in the stream phase', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a'));
    };
    const p = pool({ bodyTimeout: 60 });
    try {
      const stream = await query(p);
      expect(await stream.next()).toEqual([{ type: 'delta', text: 'a' }]);
      expect(await failureOf(stream.next())).toMatchObject({ kind: 'idle_timeout', phase: 'stream' });
    } finally {
      await p.destroy();
    }
  });

  it.each([
    ['the signal aborting', (_stream: QueryStream, ac: AbortController) => ac.abort(), 'stream'],
    ['destroy() (twice)', (stream: QueryStream) => (stream.destroy(), stream.destroy()), 'stream'],
  ])('%s mid-stream fails a waiting reader as client_aborted and closes the upstream socket', async (_name, stop, phase) => {
    let upstreamClosed = false;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a'));
      res.on('close', () => (upstreamClosed = true));
    };
    const p = pool();
    try {
      const ac = new AbortController();
      const stream = await query(p, ac.signal);
      expect(await stream.next()).toEqual([{ type: 'delta', text: 'a' }]);
      const waiting = stream.next();
      stop(stream, ac);
      expect(await failureOf(waiting)).toMatchObject({ kind: 'client_aborted', phase });
      await until(() => upstreamClosed);
    } finally {
      await p.close();
    }
  });

  it('finish() after [DONE] lets the answer run to its end: the connection is kept and used again', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('a') + 'data:[DONE]\n\n');
      // the upstream's trailing statusLog after [DONE]
      setTimeout(() => res.end(`data:${JSON.stringify({ eventType: 'statusLog', message: 'x'.repeat(1000) })}\n\n`), 10);
    };
    const p = new Pool(origin, { connections: 1 });
    const before = { ...sockets };
    try {
      for (let i = 0; i < 3; i++) {
        const stream = await query(p);
        expect(await stream.next()).toEqual([{ type: 'delta', text: 'a' }, { type: 'done' }]);
        stream.finish();
        await delay(30);
      }
      expect(sockets.opened - before.opened).toBe(1);
      expect(sockets.closed - before.closed).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('finish() cuts a body that goes on for more than 64 KiB after [DONE]', async () => {
    let upstreamClosed = false;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data:[DONE]\n\n');
      const timer = setInterval(() => res.write(`: ${'x'.repeat(16 * 1024)}\n\n`), 2);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed = true;
      });
    };
    const p = pool();
    try {
      const stream = await query(p);
      expect(await stream.next()).toEqual([{ type: 'done' }]);
      stream.finish();
      await until(() => upstreamClosed);
    } finally {
      await p.close();
    }
  });
});

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await delay(5);
  }
}
