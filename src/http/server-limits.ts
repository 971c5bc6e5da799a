/**
 * The gateway's limits, in one place, each a setting with a default (README "Limits and security"):
 *
 * - body size: BODY_LIMIT_BYTES (fastify's bodyLimit, 413 rendered by errors.ts);
 * - messages per request and the text of one message are checked on the parsed request instead (src/core/limits.ts);
 * - request header size (MAX_HEADER_BYTES, node's maxHeaderSize): 431;
 * - slow clients (slowloris): HEADERS_TIMEOUT_MS for the request head, REQUEST_TIMEOUT_MS for the whole request
 *   (only the receiving side: a long streamed answer is never cut by them): 408, then the socket is closed;
 * - streams in flight per client key (MAX_STREAMS_PER_CLIENT): 429 with Retry-After;
 * - a request refused while its client is still sending it (413, 431): the rest is read and dropped, up to
 *   DRAIN_MAX_BYTES and DRAIN_MAX_MS, before the socket is closed (lingerClose below);
 * - while the gateway drains for shutdown, new work (anything but GET/HEAD) is refused with 503.
 *
 * Errors the node HTTP parser raises before fastify sees a request (431, 408, 400) are written here too, in the
 * OpenAI shape, instead of fastify's default body.
 */
import type { IncomingMessage, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode, serverShuttingDown, tooManyStreams } from '../core/errors.js';
import { syncHook } from '../runtime/sync-hook.js';

/** How much of a refused request is still read, and for how long, before its socket is closed (0: close at once). */
export interface DrainCaps {
  maxBytes: number;
  maxMs: number;
}

export interface ServerLimitSettings {
  /** MAX_HEADER_BYTES */
  maxHeaderBytes: number;
  /** HEADERS_TIMEOUT_MS */
  headersTimeoutMs: number;
  /** REQUEST_TIMEOUT_MS (0: off) */
  requestTimeoutMs: number;
  /** MAX_STREAMS_PER_CLIENT (0: off) */
  maxStreamsPerClient: number;
  /** DRAIN_MAX_BYTES and DRAIN_MAX_MS */
  drain: DrainCaps;
}

/** Fastify constructor options for the server-level limits (spread into `Fastify({...})`). */
export function serverLimits(settings: ServerLimitSettings): {
  http: ServerOptions;
  requestTimeout: number;
  clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => void;
} {
  const requestTimeout = settings.requestTimeoutMs;
  // node refuses headersTimeout > requestTimeout (when the latter is on)
  const headersTimeout = requestTimeout > 0 ? Math.min(settings.headersTimeoutMs, requestTimeout) : settings.headersTimeoutMs;
  const shortest = requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout;
  const caps = settings.drain;
  return {
    http: {
      maxHeaderSize: settings.maxHeaderBytes,
      headersTimeout,
      requestTimeout,
      // how often node looks for timed-out requests: often enough that the timeouts above mean what they say
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(shortest / 4))),
    },
    requestTimeout,
    clientErrorHandler: (err, socket) => writeClientError(err, socket, caps),
  };
}

const PARSER_ERRORS: Record<string, { reason: string; code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    reason: 'Request Header Fields Too Large',
    code: 'request_headers_too_large',
    message: 'The request headers are larger than this gateway accepts (MAX_HEADER_BYTES).',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    reason: 'Request Timeout',
    code: 'request_timeout',
    message: 'The request was not received in time (HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS).',
  },
};

/**
 * node's `clientError`: the request never reached fastify. Answer in the OpenAI shape, then close; after a 431, with
 * `caps`, only once what the client still sends of that request is read (lingerClose).
 */
export function writeClientError(err: Error & { code?: string }, socket: Socket, caps?: DrainCaps): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = err.code !== undefined ? PARSER_ERRORS[err.code] : undefined;
  const e = known ?? { reason: 'Bad Request', code: 'malformed_request', message: 'The HTTP request could not be parsed.' };
  const { status, type } = ERROR_CATALOGUE[e.code];
  const body = JSON.stringify({ error: { message: e.message, type, param: null, code: e.code } });
  // nothing of the current answer on this socket (node's `_httpMessage`) is on the wire yet: a raw response is safe
  if (socket.writable && (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent !== true) {
    socket.write(
      `HTTP/1.1 ${status} ${e.reason}\r\nContent-Type: application/json; charset=utf-8\r\n` + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    if (caps !== undefined && err.code === 'HPE_HEADER_OVERFLOW') {
      // the parser is done with this socket (it failed): its reads come to lingerClose's listener alone
      socket.removeAllListeners('data');
      lingerClose(socket, caps);
      return;
    }
  }
  socket.destroy();
}

/**
 * Closes a connection whose answer goes out while the client may still be sending its request (a 413 for a body
 * over BODY_LIMIT_BYTES, a 431). Closing at once would reset the connection under a client that writes its whole
 * request before it reads (httpx, Python's http.client): it would see a broken pipe instead of the error. So the
 * write side is ended (the answer, then FIN) and what still arrives is read and dropped, never kept, until the
 * request is over (`request` ends, when node's parser still frames it) or the client's FIN, for at most
 * `caps.maxMs`; past that, or past `caps.maxBytes` more bytes, the socket is cut. REQUEST_TIMEOUT_MS still applies.
 * With `request`, its bytes are counted by dropBody; without, the socket's own reads are (nothing else reads them).
 */
export function lingerClose(socket: Socket, caps: DrainCaps, request?: IncomingMessage): void {
  if (socket.destroyed) return;
  socket.end();
  const close = (): void => {
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  if (caps.maxBytes <= 0 || caps.maxMs <= 0 || request?.complete === true) {
    close();
    return;
  }
  const cut = setTimeout(() => socket.destroy(), caps.maxMs);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
  socket.once('end', close);
  if (request !== undefined) {
    request.once('end', close);
    return;
  }
  const start = socket.bytesRead;
  socket.on('data', () => {
    if (socket.bytesRead - start > caps.maxBytes) socket.destroy();
  });
  socket.resume();
}

/**
 * Arms the lingering close of a request answered (with Connection: close) before its body is in. From now on the
 * body is read and dropped, at most `caps.maxBytes` of it; node closes such a connection with one
 * `socket.destroySoon()` once the answer is written, which for this socket becomes lingerClose (the socket's own
 * method is back for anything after).
 */
function dropBody(request: IncomingMessage, caps: DrainCaps): void {
  const socket = request.socket as Socket | null;
  if (socket === null || socket.destroyed || caps.maxBytes <= 0 || caps.maxMs <= 0) return;
  let seen = 0;
  request.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > caps.maxBytes) socket.destroy();
  });
  request.resume();
  socket.destroySoon = () => {
    Reflect.deleteProperty(socket, 'destroySoon');
    lingerClose(socket, caps, request);
  };
}

/** Request-level limits as fastify hooks. Register after the auth hook (it sets request.gw.clientKey). */
export function applyLimits(app: FastifyInstance, settings: ServerLimitSettings, isShuttingDown: () => boolean): void {
  const streams = new StreamCounter(settings.maxStreamsPerClient);
  const caps = settings.drain;

  // an error answered with Connection: close while the body is still coming (fastify's 413, the shutdown 503):
  // node would close the socket once the answer is written; the socket lingers instead (errors only: no cost otherwise)
  app.addHook('onError', (request, reply, _err, done) => {
    if (!request.raw.complete && reply.getHeader('connection') === 'close') dropBody(request.raw, caps);
    done();
  });

  app.addHook(
    'onRequest',
    syncHook((request, reply) => {
      if (!isShuttingDown() || request.method === 'GET' || request.method === 'HEAD') return;
      void reply.header('connection', 'close');
      throw serverShuttingDown();
    }),
  );

  app.addHook(
    'preHandler',
    syncHook((request, reply) => {
      const opensStream = request.routeOptions.config.opensStream ?? asksForStream;
      if (opensStream(request)) {
        const release = streams.enter(clientOf(request));
        // 'close' comes once per response, and release() is idempotent: `on` spares once()'s wrapper objects
        reply.raw.on('close', release);
      }
    }),
  );
}

/** `stream: true` in the body: how the OpenAI and Anthropic APIs ask for a stream */
const asksForStream = (request: FastifyRequest): boolean => (request.body as { stream?: unknown } | null | undefined)?.stream === true;

function clientOf(request: FastifyRequest): string {
  const key = (request.gw as { clientKey?: number | string } | null)?.clientKey;
  return key === undefined ? 'open' : String(key);
}

/** a client whose streams all ended keeps its 0 until this many clients are known (see StreamCounter) */
const KEEP_IDLE_CLIENTS = 1024;

/**
 * Streams in flight per client key; enter() throws the 429 when the client is at its limit. A client's count stays
 * at 0 when its last stream ends, and idle clients are dropped only once more than KEEP_IDLE_CLIENTS are known:
 * deleting a Map's last entry every request makes V8 build the Map a new table in the old generation each time
 * (docs/performance.md, "Fourteenth round").
 */
export class StreamCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  enter(client: string): () => void {
    const n = this.open.get(client) ?? 0;
    if (this.max > 0 && n >= this.max) {
      throw tooManyStreams(this.max);
    }
    this.open.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = Math.max(0, (this.open.get(client) ?? 1) - 1);
      this.open.set(client, left);
      if (left === 0 && this.open.size > KEEP_IDLE_CLIENTS) this.dropIdle();
    };
  }

  count(client: string): number {
    return this.open.get(client) ?? 0;
  }

  /** clients known, idle ones included (tests) */
  get clientsKnown(): number {
    return this.open.size;
  }

  private dropIdle(): void {
    for (const [client, n] of this.open) if (n === 0) this.open.delete(client);
  }
}
