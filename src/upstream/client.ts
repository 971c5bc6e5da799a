/**
 * The thin I/O edge to OnDemand: create a session, open a streamed query, make a cheap probe call.
 * Uses one undici connection Pool for the configured origin (never taken from a request). Every call is one exchange on
 * undici's dispatch API (src/upstream/exchange.ts), and every failure becomes an UpstreamFailure; nothing here
 * decides about keys or retries (that is src/core/engine.ts and src/keypool).
 */
import { randomUUID } from 'node:crypto';
import { JsonExchange, QueryStream, toFailure } from './exchange.js';
import { clientClosed, UpstreamFailure, type UpstreamPhase } from '../ondemand/failure.js';
import type { UpstreamFailureInit } from '../ondemand/failure.js';
import type { TraceHeaders } from '../core/ports.js';
import type { OnDemandQueryBody } from '../ondemand/query.js';
import { Pool } from '../runtime/undici-lean.js';
import { TupleMap } from '../runtime/tuple-map.js';

export { parseRetryAfter, QueryStream, toFailure } from './exchange.js';

export interface OnDemandClientOptions {
  baseUrl: string;
  userAgent: string;
  connectTimeoutMs: number;
  /** until response headers arrive */
  firstByteTimeoutMs: number;
  /** longest silence between two body chunks of a flowing stream; there is no total cap */
  idleTimeoutMs: number;
  /** sockets to the upstream at most (one per request in flight: HTTP/1.1); 0 = no cap; default 256 */
  connections?: number;
  /**
   * the first-byte and idle timeouts of a query that runs plugins are at least this (PLUGIN_TIMEOUT_MS): OnDemand
   * lets plugins run for 2.5 minutes, and whether it sends anything meanwhile is up to the plugin
   */
  pluginTimeoutMs?: number;
}

type Phase = UpstreamFailureInit['phase'];

/** how long an idle upstream socket is kept open */
export const KEEP_ALIVE_MS = 10_000;

export class OnDemandClient {
  private connections: Pool;
  private readonly headersBase: Record<string, string>;
  /** by Accept value, then key (a tuple, not a key string built per call: src/runtime/tuple-map.ts) */
  private readonly headers = new TupleMap<Readonly<Record<string, string>>>();

  constructor(private readonly opts: OnDemandClientOptions) {
    this.connections = this.newConnectionPool();
    this.headersBase = { 'user-agent': opts.userAgent, 'content-type': 'application/json', accept: 'application/json' };
  }

  /** Any error of these calls (undici's, the network's) as an UpstreamFailure: the engine's port to undici's errors. */
  toFailure(err: unknown, phase: UpstreamPhase, signal?: AbortSignal): UpstreamFailure {
    return toFailure(err, phase, signal);
  }

  private newConnectionPool(): Pool {
    return new Pool(this.opts.baseUrl, {
      connections: this.opts.connections === 0 ? null : (this.opts.connections ?? 256),
      connectTimeout: this.opts.connectTimeoutMs,
      headersTimeout: this.opts.firstByteTimeoutMs,
      bodyTimeout: this.opts.idleTimeoutMs,
      // an idle upstream socket is closed after 10 s (unless the server's keep-alive hint says less): long enough
      // to carry a conversation's next turn, short enough that the sockets of a burst do not hold memory for long
      keepAliveTimeout: KEEP_ALIVE_MS,
    });
  }

  /**
   * Go on with a fresh connection Pool; the old one closes once its calls in flight are done. undici's Pool keeps
   * a client object for every connection it ever opened, closed ones included (about 5 KB each, ~10 MB after a
   * burst of 2000 streams), for as long as the Pool lives. The gateway calls this when it has been idle for longer
   * than KEEP_ALIVE_MS (src/runtime/idle-gc.ts), when every socket of the old Pool is closed already. Resolves once
   * the old Pool is closed.
   */
  recycle(): Promise<void> {
    const old = this.connections;
    this.connections = this.newConnectionPool();
    return old.close().catch(() => undefined);
  }

  /** POST /chat/v1/sessions: a fresh session, used for one client request only. */
  async createSession(key: string, signal?: AbortSignal, trace?: TraceHeaders): Promise<string> {
    // a template, not JSON.stringify: a UUID needs no escaping, and every request that misses the session pool sends one
    const body = `{"externalUserId":"gw-${randomUUID()}","pluginIds":[]}`;
    const json = await this.json('session', 'POST', '/chat/v1/sessions', key, body, signal, undefined, trace);
    const id = (json as { data?: { id?: unknown } } | null)?.data?.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new UpstreamFailure('upstream session answer has no data.id', { kind: 'http', phase: 'session', status: 502 });
    }
    return id;
  }

  /**
   * POST /chat/v1/sessions/{id}/query with responseMode stream; resolves once a 2xx arrives, with the answer's
   * events to be read from the stream (`next()`), which the caller must `finish()` or `destroy()`.
   */
  openQuery(key: string, sessionId: string, body: OnDemandQueryBody, signal?: AbortSignal, trace?: TraceHeaders): Promise<QueryStream> {
    if (signal?.aborted) return Promise.reject(clientClosed('query'));
    const stream = new QueryStream(signal);
    const options = this.options('POST', `/chat/v1/sessions/${encodeURIComponent(sessionId)}/query`, key, JSON.stringify(body), 'text/event-stream', undefined, trace);
    const pluginMs = this.opts.pluginTimeoutMs;
    if (body.pluginIds.length > 0 && pluginMs !== undefined) {
      this.connections.dispatch({ ...options, headersTimeout: Math.max(this.opts.firstByteTimeoutMs, pluginMs), bodyTimeout: Math.max(this.opts.idleTimeoutMs, pluginMs) }, stream);
    } else {
      this.connections.dispatch(options, stream);
    }
    return stream.opened;
  }

  /** GET a JSON document (the endpoint catalogue). */
  getJson(path: string, key: string, signal?: AbortSignal): Promise<unknown> {
    return this.json('catalogue', 'GET', path, key, undefined, signal);
  }

  /** POST /media/v1/public/file (JSON): OnDemand fetches `url` itself. Resolves with the parsed answer. */
  uploadMediaUrl(key: string, body: Record<string, unknown>, signal?: AbortSignal, trace?: TraceHeaders): Promise<unknown> {
    return this.json('media', 'POST', '/media/v1/public/file', key, JSON.stringify(body), signal, undefined, trace);
  }

  /** POST /media/v1/public/file/raw (multipart/form-data built by src/ondemand/media.ts). */
  uploadMediaRaw(key: string, form: { body: Buffer; contentType: string }, signal?: AbortSignal, trace?: TraceHeaders): Promise<unknown> {
    return this.json('media', 'POST', '/media/v1/public/file/raw', key, form.body, signal, form.contentType, trace);
  }

  async close(): Promise<void> {
    await this.connections.close();
  }

  private json(
    phase: Phase,
    method: 'GET' | 'POST',
    path: string,
    key: string,
    body: string | Buffer | undefined,
    signal?: AbortSignal,
    contentType?: string,
    trace?: TraceHeaders,
  ): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(clientClosed(phase));
    const exchange = new JsonExchange(phase, signal);
    this.connections.dispatch(this.options(method, path, key, body, 'application/json', contentType, trace), exchange);
    return exchange.answer;
  }

  private options(method: 'GET' | 'POST', path: string, key: string, body: string | Buffer | undefined, accept: string, contentType?: string, trace?: TraceHeaders) {
    const shared = this.headersFor(key, accept);
    return {
      method,
      path,
      headers: contentType === undefined && trace === undefined ? shared : { ...shared, ...trace, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
      body: body ?? null,
    };
  }

  /** The request headers for a key and an Accept value, built once (undici only reads them). */
  private headersFor(key: string, accept: string): Record<string, string> {
    let headers = this.headers.get(accept, key);
    if (headers === undefined) {
      // keys come and go (admin API, config reload): a cache grown past any real key pool starts over
      if (this.headers.size >= 4096) this.headers.clear();
      headers = Object.freeze({ ...this.headersBase, accept, apikey: key });
      this.headers.set(headers, accept, key);
    }
    return headers;
  }
}
