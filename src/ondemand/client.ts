/**
 * The thin I/O edge to OnDemand: create a session, open a streamed query, make a cheap probe call.
 * Uses one undici Pool for the configured origin (never taken from a request). Every failure becomes an
 * UpstreamFailure; nothing here decides about keys or retries (that is src/core/engine.ts and src/pool).
 */
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { UpstreamFailure } from './failure.js';
import type { UpstreamFailureInit } from './failure.js';
import type { OnDemandQueryBody } from './query.js';
import { Pool, errors as undiciErrors, request } from './undici-lean.js';

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
}

export type UpstreamBody = Dispatcher.ResponseData['body'];

const MAX_ERROR_BODY = 64 * 1024;

export class OnDemandClient {
  private readonly pool: Pool;
  private readonly headersBase: Record<string, string>;

  constructor(private readonly opts: OnDemandClientOptions) {
    this.pool = new Pool(opts.baseUrl, {
      connections: opts.connections === 0 ? null : (opts.connections ?? 256),
      connectTimeout: opts.connectTimeoutMs,
      headersTimeout: opts.firstByteTimeoutMs,
      bodyTimeout: opts.idleTimeoutMs,
      // an idle upstream socket is closed after 10 s (unless the server's keep-alive hint says less): long enough
      // to carry a conversation's next turn, short enough that the sockets of a burst do not hold memory for long
      keepAliveTimeout: 10_000,
    });
    this.headersBase = { 'user-agent': opts.userAgent, 'content-type': 'application/json', accept: 'application/json' };
  }

  /** POST /chat/v1/sessions: a fresh session, used for one client request only. */
  async createSession(key: string, signal?: AbortSignal): Promise<string> {
    const res = await this.call('session', '/chat/v1/sessions', key, { externalUserId: `gw-${randomUUID()}`, pluginIds: [] }, signal);
    const json = await readJson(res, 'session');
    const id = (json as { data?: { id?: unknown } } | null)?.data?.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new UpstreamFailure('upstream session answer has no data.id', { kind: 'http', phase: 'session', status: 502 });
    }
    return id;
  }

  /** POST /chat/v1/sessions/{id}/query with responseMode stream; resolves once a 2xx arrives, with the body unread. */
  async openQuery(key: string, sessionId: string, body: OnDemandQueryBody, signal?: AbortSignal): Promise<UpstreamBody> {
    const res = await this.call('query', `/chat/v1/sessions/${encodeURIComponent(sessionId)}/query`, key, body, signal, 'text/event-stream');
    return res.body;
  }

  /** GET a JSON document (the endpoint catalogue). */
  async getJson(path: string, key: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send('catalogue', 'GET', path, key, undefined, signal, 'application/json');
    return readJson(res, 'catalogue');
  }

  /** POST /media/v1/public/file (JSON): OnDemand fetches `url` itself. Resolves with the parsed answer. */
  async uploadMediaUrl(key: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const res = await this.call('media', '/media/v1/public/file', key, body, signal);
    return readJson(res, 'media');
  }

  /** POST /media/v1/public/file/raw (multipart/form-data built by src/ondemand/media.ts). */
  async uploadMediaRaw(key: string, form: { body: Buffer; contentType: string }, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send('media', 'POST', '/media/v1/public/file/raw', key, form.body, signal, 'application/json', form.contentType);
    return readJson(res, 'media');
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private call(phase: UpstreamFailureInit['phase'], path: string, key: string, json: unknown, signal?: AbortSignal, accept?: string) {
    return this.send(phase, 'POST', path, key, JSON.stringify(json), signal, accept);
  }

  private async send(
    phase: UpstreamFailureInit['phase'],
    method: 'GET' | 'POST',
    path: string,
    key: string,
    body: string | Buffer | undefined,
    signal: AbortSignal | undefined,
    accept = 'application/json',
    contentType?: string,
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.pool, {
        method,
        path,
        headers: { ...this.headersBase, accept, apikey: key, ...(contentType !== undefined ? { 'content-type': contentType } : {}) },
        body: body ?? null,
        signal: signal ?? null,
      });
    } catch (err) {
      throw toFailure(err, phase, signal);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await httpFailure(res, phase);
  }
}

/** Turn an undici/network error into an UpstreamFailure; the message never carries the key. */
export function toFailure(err: unknown, phase: UpstreamFailureInit['phase'], signal?: AbortSignal): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  if (signal?.aborted) {
    return new UpstreamFailure('the client closed the request', { kind: 'client_aborted', phase, cause: err });
  }
  const code = (err as { code?: string } | null)?.code ?? '';
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamFailure('connecting to the upstream timed out', { kind: 'connect_timeout', phase, cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new UpstreamFailure('the upstream sent no answer within the first-byte timeout', { kind: 'first_byte_timeout', phase, cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UpstreamFailure('the upstream stream went quiet past the idle timeout', { kind: 'idle_timeout', phase, cause: err });
  }
  const detail = code !== '' ? code : err instanceof Error ? err.name : 'error';
  return new UpstreamFailure(`upstream connection failed (${detail})`, { kind: 'network', phase, cause: err });
}

async function httpFailure(res: Dispatcher.ResponseData, phase: UpstreamFailureInit['phase']): Promise<UpstreamFailure> {
  const contentType = String(res.headers['content-type'] ?? '');
  let text = '';
  try {
    text = await readCapped(res.body, MAX_ERROR_BODY);
  } catch {
    // the status is what matters; a broken error body changes nothing
  }
  const trimmed = text.trimStart();
  const htmlBody = contentType.includes('text/html') || trimmed.startsWith('<');
  let errorCode: string | undefined;
  let upstreamMessage: string | undefined;
  if (!htmlBody && trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { errorCode?: unknown; message?: unknown; error?: unknown };
      if (typeof parsed.errorCode === 'string') errorCode = parsed.errorCode;
      if (typeof parsed.message === 'string') upstreamMessage = parsed.message.slice(0, 500);
    } catch {
      // not JSON after all
    }
  } else if (htmlBody) {
    const m = /error code:?\s*(\d{3,4})/i.exec(text);
    if (m?.[1] !== undefined) errorCode = `edge_${m[1]}`;
    upstreamMessage = 'the upstream edge answered with an HTML page';
  }
  const init: UpstreamFailureInit = { kind: 'http', phase, status: res.statusCode, htmlBody };
  if (errorCode !== undefined) init.errorCode = errorCode;
  if (upstreamMessage !== undefined) init.upstreamMessage = upstreamMessage;
  const retryAfterSec = parseRetryAfter(res.headers['retry-after']);
  if (retryAfterSec !== undefined) init.retryAfterSec = retryAfterSec;
  return new UpstreamFailure(`upstream answered ${res.statusCode}${errorCode ? ` ${errorCode}` : ''}`, init);
}

/** Retry-After as seconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.max(0, Math.ceil(Number(v)));
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

async function readCapped(body: UpstreamBody, cap: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size + buf.length > cap) {
      parts.push(buf.subarray(0, cap - size));
      body.destroy();
      break;
    }
    parts.push(buf);
    size += buf.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

const MAX_JSON_BODY = 4 * 1024 * 1024;

async function readJson(res: Dispatcher.ResponseData, phase: UpstreamFailureInit['phase']): Promise<unknown> {
  // a body whose declared length fits is read in one go (undici's text(): no async iterator, no promise per
  // chunk); one without a length, or too long, is read chunk by chunk up to the cap
  const declared = Number(res.headers['content-length']);
  const read = Number.isInteger(declared) && declared <= MAX_JSON_BODY ? res.body.text() : readCapped(res.body, MAX_JSON_BODY);
  const text = await read.catch((err: unknown) => {
    throw toFailure(err, phase);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamFailure('upstream answered with invalid JSON', { kind: 'http', phase, status: 502 });
  }
}
