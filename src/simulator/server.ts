/**
 * The simulated OnDemand service on plain node:http: upstream routes (sessions, queries, catalogue, media),
 * failure behaviors, stats, and the /__sim control surface.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NO_METRICS_MARKER, UNICODE_MARKER, simTokens, splitDeltas } from './answer.js';
import { parseKeyBehavior, type CallKind } from './behaviors.js';
import { catalogueBody } from './catalogue.js';
import { buildScript, errorFrame, heartbeatFrame, layoutWrites, type StreamEnding } from './frames.js';
import {
  BodyTooLarge,
  JSON_BODY_LIMIT,
  decodePathSegment,
  defaultErrorBody,
  header,
  isDefaultUserAgent,
  parseJson,
  pause,
  readBody,
  resetSocket,
  sendEdgeHtml,
  sendJson,
  sendText,
  statusForErrorCode,
} from './http.js';
import { guessMime, multipartBoundary, nameFromUrl, parseMultipart, simulatedContext } from './media.js';
import { parseOptionsPatch, toRuntime } from './options.js';
import { SimState, newRecordId, type MediaRec, type MessageRec, type SessionRec } from './state.js';
import { playStream } from './stream.js';
import type {
  AnswerContext,
  KeyBehavior,
  KeyBehaviorSpec,
  KeyStats,
  MutableOptions,
  SimAnswer,
  SimStats,
  Simulator,
  SimulatorOptions,
} from './types.js';
import { isObj, isStringArray, readSessionBody, validateQueryBody } from './validate.js';

const RAW_LIMIT = 64 * 1024 * 1024;
type Route =
  | { name: 'createSession' }
  | { name: 'listSessions' }
  | { name: 'getSession'; id: string }
  | { name: 'messages'; id: string }
  | { name: 'query'; id: string }
  | { name: 'endpoints' }
  | { name: 'mediaJson' }
  | { name: 'mediaRaw' };

function matchRoute(method: string, path: string): Route | undefined {
  if (method === 'POST') {
    if (path === '/chat/v1/sessions') return { name: 'createSession' };
    if (path === '/media/v1/public/file') return { name: 'mediaJson' };
    if (path === '/media/v1/public/file/raw') return { name: 'mediaRaw' };
    const m = /^\/chat\/v1\/sessions\/([^/]+)\/query$/.exec(path);
    if (m) return { name: 'query', id: decodePathSegment(m[1]!) };
    return undefined;
  }
  if (method === 'GET') {
    if (path === '/chat/v1/sessions') return { name: 'listSessions' };
    if (path === '/config/v1/public/endpoints') return { name: 'endpoints' };
    const m = /^\/chat\/v1\/sessions\/([^/]+)(\/messages)?$/.exec(path);
    if (m) return m[2] ? { name: 'messages', id: decodePathSegment(m[1]!) } : { name: 'getSession', id: decodePathSegment(m[1]!) };
  }
  return undefined;
}

export class SimServer implements Simulator {
  private readonly server: Server;
  private readonly state: SimState;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.state = new SimState(new Set((options.keys ?? []).filter((k) => k.length > 0)), toRuntime(options));
    this.server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.server.headersTimeout = 66_000;
  }

  get url(): string {
    return this.state.url;
  }

  listen(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port: this.options.port ?? 0, backlog: 4096 }, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
        this.state.url = `http://${h}:${addr.port}`;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  setKeyBehavior(key: string, b: KeyBehaviorSpec): void {
    this.state.behaviors.setKey(key, b);
  }

  setAllKeysBehavior(b: KeyBehaviorSpec): void {
    this.state.behaviors.setAll(b);
  }

  reset(): void {
    this.state.reset();
  }

  setOptions(partial: MutableOptions): void {
    this.state.setOptions(partial);
  }

  forgetSessions(): number {
    return this.state.sessions.clear();
  }

  stats(): SimStats {
    return this.state.snapshot();
  }

  // ---------------------------------------------------------------------------------------------

  private fail(res: ServerResponse, key: string, status: number, errorCode: string, message: string): void {
    this.state.keyStats(key).failures++;
    sendJson(res, status, { errorCode, message });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi === -1 ? rawUrl : rawUrl.slice(0, qi);
    const work = path.startsWith('/__sim/') ? this.control(req, res, path) : this.upstream(req, res, path);
    work.catch((err: unknown) => {
      if (err instanceof BodyTooLarge) sendJson(res, 413, { errorCode: 'invalid_request', message: err.message });
      else sendJson(res, 500, { errorCode: 'server_error', message: 'simulator error' });
    });
  }

  private async upstream(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (isDefaultUserAgent(header(req, 'user-agent'))) {
      req.resume();
      return sendEdgeHtml(res, 403);
    }
    const key = header(req, 'apikey') ?? '';
    if (key === '' || (this.state.keys.size > 0 && !this.state.keys.has(key))) {
      req.resume();
      if (key !== '') this.state.keyStats(key).failures++;
      return sendJson(res, 401, {
        errorCode: 'unauthenticated',
        message: key === '' ? 'Missing apikey header' : 'Invalid API key',
      });
    }
    const route = matchRoute(method, path);
    if (!route) {
      req.resume();
      return this.fail(res, key, 404, 'not_found', `Cannot ${method} ${path}`);
    }

    const call: CallKind | undefined =
      route.name === 'createSession' ? 'session' : route.name === 'query' ? 'query' : route.name.startsWith('media') ? 'media' : undefined;
    const ks = this.state.countCall(key, call);

    const body = method === 'POST' ? await readBody(req, route.name === 'mediaRaw' ? RAW_LIMIT : JSON_BODY_LIMIT) : Buffer.alloc(0);
    if (method !== 'POST') req.resume();
    const json = route.name === 'mediaRaw' ? ({ ok: false } as const) : parseJson(body);
    if (route.name === 'query' && json.ok) this.state.recordQuery(json.value, Object.keys(req.headers));

    let streamBehavior: KeyBehavior | undefined;
    const b = call ? this.state.behaviors.take(key, call) : undefined;
    if (b) {
      switch (b.kind) {
        case 'http': {
          ks.failures++;
          const headers: Record<string, string> = b.retryAfterSec !== undefined ? { 'retry-after': String(b.retryAfterSec) } : {};
          if (b.html) sendEdgeHtml(res, b.status, headers);
          else if (typeof b.body === 'string') sendText(res, b.status, 'text/plain; charset=utf-8', b.body, headers);
          else sendJson(res, b.status, b.body === undefined ? defaultErrorBody(b.status) : b.body, headers);
          return;
        }
        case 'reset':
          ks.failures++;
          return resetSocket(req);
        case 'stall':
          ks.failures++;
          return; // never answered; the socket closes when the client gives up or the simulator closes
        case 'slow':
          if (!(await pause(res, b.delayMs))) return;
          break;
        default:
          streamBehavior = b;
      }
    }

    switch (route.name) {
      case 'createSession':
        return this.createSession(res, key, json);
      case 'listSessions': {
        const company = this.state.sessions.companyId(key);
        const data = this.state.sessions.ofCompany(company).slice(-100).map(sessionView);
        return sendJson(res, 200, { message: 'Sessions fetched successfully', data });
      }
      case 'getSession': {
        const s = this.state.sessions.get(route.id);
        if (!s) return this.fail(res, key, 404, 'not_found', 'Session not found');
        return sendJson(res, 200, { message: 'Session fetched successfully', data: sessionView(s) });
      }
      case 'messages': {
        const s = this.state.sessions.get(route.id);
        if (!s) return this.fail(res, key, 404, 'not_found', 'Session not found');
        return sendJson(res, 200, { message: 'Messages fetched successfully', data: s.messages.map((m) => ({ ...m })) });
      }
      case 'endpoints':
        return sendJson(res, 200, catalogueBody());
      case 'query':
        return this.query(req, res, key, route.id, json, streamBehavior);
      case 'mediaJson':
        return this.mediaJson(res, key, json);
      case 'mediaRaw':
        return this.mediaRaw(req, res, key, body);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // sessions

  private async createSession(res: ServerResponse, key: string, json: { ok: true; value: unknown } | { ok: false }): Promise<void> {
    if (!json.ok || !isObj(json.value)) return this.fail(res, key, 400, 'invalid_request', 'Request body must be a JSON object');
    const body = readSessionBody(json.value);
    if ('error' in body) return this.fail(res, key, 400, 'invalid_request', body.error);
    if (!(await pause(res, this.state.opts.sessionDelayMs))) return;

    const s: SessionRec = {
      id: newRecordId(),
      companyId: this.state.sessions.companyId(key),
      externalUserId: body.externalUserId,
      pluginIds: body.pluginIds,
      createdAt: new Date().toISOString(),
      bornMs: performance.now(),
      ownerKey: key,
      messages: [],
      media: [],
    };
    this.state.sessions.add(s);
    this.state.stats.sessionsCreated++;
    sendJson(res, 201, { message: 'Session created successfully', data: sessionView(s) });
  }

  // ---------------------------------------------------------------------------------------------
  // queries

  private async query(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    sessionId: string,
    json: { ok: true; value: unknown } | { ok: false },
    behavior: KeyBehavior | undefined,
  ): Promise<void> {
    const s = this.state.sessions.get(sessionId);
    if (!s) return this.fail(res, key, 404, 'not_found', 'Session not found');
    if (!json.ok || !isObj(json.value)) return this.fail(res, key, 400, 'invalid_request', 'Request body must be a JSON object');
    const body = json.value;
    const invalid = validateQueryBody(body);
    if (invalid) return this.fail(res, key, 400, 'invalid_request', invalid);
    const query = body['query'] as string;
    const endpointId = body['endpointId'] as string;
    const mode = body['responseMode'] as 'sync' | 'stream' | 'webhook';

    if (s.messages.length > 0) this.state.stats.sessionsReused++;
    if (s.ownerKey !== key) this.state.stats.crossKeyQueries++;

    const ctx: AnswerContext = {
      query,
      endpointId,
      sessionId,
      history: s.messages.flatMap((m) => [m.query, m.answer]),
      media: s.media.map((m) => m.name),
    };
    if (typeof body['reasoningEffort'] === 'string') ctx.reasoningEffort = body['reasoningEffort'];
    let ans: SimAnswer;
    try {
      ans = this.state.opts.answer(ctx);
    } catch (err) {
      return this.fail(res, key, 500, 'server_error', `answer function failed: ${(err as Error).message}`);
    }
    const msg: MessageRec = {
      id: newRecordId(),
      sessionId,
      query,
      answer: ans.text,
      endpointId,
      status: 'processing',
      createdAt: new Date().toISOString(),
    };
    s.messages.push(msg);

    if (mode === 'stream') return this.stream(res, key, msg, ans, behavior);

    const o = this.state.opts;
    if (!(await pause(res, o.firstByteDelayMs))) return;
    if (mode === 'webhook') {
      msg.status = 'completed';
      return sendJson(res, 200, { message: 'Chat query submitted successfully', data: { sessionId, messageId: msg.id, status: 'processing' } });
    }
    if (behavior?.kind === 'cut') {
      msg.status = 'failed';
      this.state.keyStats(key).failures++;
      return resetSocket(req);
    }
    if (behavior?.kind === 'stall_stream') {
      this.state.keyStats(key).failures++;
      return;
    }
    const err =
      behavior?.kind === 'stream_error'
        ? { errorCode: behavior.errorCode ?? 'model_error', message: behavior.message ?? 'The model failed to answer' }
        : ans.error;
    if (err) {
      msg.status = 'failed';
      return this.fail(res, key, statusForErrorCode(err.errorCode), err.errorCode, err.message);
    }
    msg.status = 'completed';
    sendJson(res, 200, {
      message: 'Chat query submitted successfully',
      data: { sessionId, messageId: msg.id, answer: ans.text, status: 'completed' },
    });
  }

  private stream(res: ServerResponse, key: string, msg: MessageRec, ans: SimAnswer, behavior: KeyBehavior | undefined): void {
    const o = this.state.opts;
    const deltas = splitDeltas(ans.text, o.deltas > 0 ? o.deltas : undefined);
    const thinkingDeltas = ans.thinking ? splitDeltas(ans.thinking) : [];
    const inputTokens = ans.inputTokens ?? simTokens(msg.query);
    const outputTokens = ans.outputTokens ?? simTokens(ans.text);
    const planned = Math.round(o.firstByteDelayMs + (deltas.length + thinkingDeltas.length) * o.deltaIntervalMs) / 1000;
    const script = buildScript({
      sessionId: msg.sessionId,
      messageId: msg.id,
      answer: ans.text,
      deltas,
      thinkingDeltas,
      metrics: msg.query.includes(NO_METRICS_MARKER)
        ? undefined
        : { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, ragTimeSec: 0, fulfillmentTimeSec: planned, totalTimeSec: planned },
    });

    let ending: StreamEnding = { kind: 'done' };
    if (behavior?.kind === 'cut') ending = { kind: 'cut', afterDeltas: behavior.afterDeltas };
    else if (behavior?.kind === 'stall_stream') ending = { kind: 'stall', afterDeltas: behavior.afterDeltas };
    else if (behavior?.kind === 'stream_error') {
      ending = {
        kind: 'error',
        afterDeltas: behavior.afterDeltas,
        frame: errorFrame(behavior.message ?? 'The model failed to answer', behavior.errorCode ?? 'model_error'),
      };
    } else if (ans.error) {
      ending = { kind: 'error', afterDeltas: ans.error.afterDeltas, frame: errorFrame(ans.error.message, ans.error.errorCode) };
    }
    if (ending.kind !== 'done') {
      this.state.keyStats(key).failures++;
      if (ending.kind !== 'stall') msg.status = 'failed';
    }

    const writes = layoutWrites(script, ending, o.firstByteDelayMs, o.deltaIntervalMs, msg.query.includes(UNICODE_MARKER));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    this.state.stats.openStreams++;
    playStream(res, {
      writes,
      after: ending.kind === 'done' || ending.kind === 'error' ? 'end' : ending.kind,
      heartbeatMs: o.heartbeatMs,
      heartbeat: () => heartbeatFrame(msg.sessionId, msg.id),
      onEnd: (outcome) => {
        // reset() carries openStreams over, so this stays right across a reset
        this.state.stats.openStreams = Math.max(0, this.state.stats.openStreams - 1);
        if (outcome === 'aborted') this.state.stats.abortedStreams++;
        if (outcome === 'finished' && ending.kind === 'done') msg.status = 'completed';
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // media

  private addMedia(rec: MediaRec, session: SessionRec | undefined): void {
    this.state.media.add(rec);
    session?.media.push(rec);
    this.state.stats.mediaUploads++;
  }

  private newMedia(name: string, sourceUrl: string | null, mimeType: string, sizeBytes: number | null, sessionId: string | null): MediaRec {
    const id = newRecordId();
    return {
      id,
      name,
      url: `${this.state.url}/__sim/media/${id}`,
      sourceUrl,
      extractedTextUrl: `${this.state.url}/__sim/media/${id}/text`,
      context: simulatedContext(name),
      mimeType,
      sizeBytes,
      sessionId,
      createdAt: new Date().toISOString(),
    };
  }

  private mediaJson(res: ServerResponse, key: string, json: { ok: true; value: unknown } | { ok: false }): void {
    if (!json.ok || !isObj(json.value)) return this.fail(res, key, 400, 'invalid_request', 'Request body must be a JSON object');
    const b = json.value;
    const url = b['url'];
    if (typeof url !== 'string' || url.length === 0) return this.fail(res, key, 400, 'invalid_request', 'url is required');
    const plugins = b['plugins'];
    if (!isStringArray(plugins)) return this.fail(res, key, 400, 'invalid_request', 'plugins is required');
    if (plugins.length === 0) return this.fail(res, key, 500, 'server_error', 'errors.no.executable.plugin.found');
    const mode = b['responseMode'];
    if (mode !== undefined && mode !== 'sync' && mode !== 'webhook') {
      return this.fail(res, key, 400, 'invalid_request', 'responseMode must be one of sync, webhook');
    }
    const sid = b['sessionId'];
    if (sid !== undefined && sid !== null && typeof sid !== 'string') return this.fail(res, key, 400, 'invalid_request', 'sessionId must be a string');
    const session = typeof sid === 'string' && sid !== '' ? this.state.sessions.get(sid) : undefined;
    if (typeof sid === 'string' && sid !== '' && !session) return this.fail(res, key, 404, 'not_found', 'Session not found');
    const name = typeof b['name'] === 'string' && b['name'] !== '' ? b['name'] : nameFromUrl(url);
    const size = typeof b['sizeBytes'] === 'number' ? b['sizeBytes'] : null;
    const rec = this.newMedia(name, url, guessMime(/^data:/i.test(url) ? url : name.includes('.') ? name : url), size, session?.id ?? null);
    this.addMedia(rec, session);
    sendJson(res, 200, { message: 'File processed successfully', data: mediaView(rec) });
  }

  private mediaRaw(req: IncomingMessage, res: ServerResponse, key: string, body: Buffer): void {
    const boundary = multipartBoundary(header(req, 'content-type'));
    if (!boundary) return this.fail(res, key, 400, 'invalid_request', 'Expected multipart/form-data');
    const parts = parseMultipart(body, boundary);
    const file = parts.find((p) => p.name === 'file') ?? parts.find((p) => p.filename !== undefined);
    if (!file) return this.fail(res, key, 400, 'invalid_request', 'file is required');
    const field = (n: string): string | undefined => {
      const p = parts.find((x) => x.name === n && x.filename === undefined);
      return p ? p.data.toString('utf8') : undefined;
    };
    const mode = field('responseMode');
    if (mode !== undefined && mode !== 'sync' && mode !== 'webhook') {
      return this.fail(res, key, 400, 'invalid_request', 'responseMode must be one of sync, webhook');
    }
    const sid = field('sessionId');
    const session = sid ? this.state.sessions.get(sid) : undefined;
    if (sid && !session) return this.fail(res, key, 404, 'not_found', 'Session not found');
    const name = field('name') || file.filename || 'file';
    const mime = file.contentType && file.contentType !== 'application/octet-stream' ? file.contentType : guessMime(name);
    const rec = this.newMedia(name, null, mime, file.data.length, session?.id ?? null);
    this.addMedia(rec, session);
    sendJson(res, 200, { message: 'File processed successfully', data: mediaView(rec) });
  }

  // ---------------------------------------------------------------------------------------------
  // control surface (no apikey, no edge check)

  private async control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const body = method === 'POST' ? await readBody(req, JSON_BODY_LIMIT) : Buffer.alloc(0);
    if (method !== 'POST') req.resume();
    const bad = (message: string): void => sendJson(res, 400, { errorCode: 'invalid_request', message });
    const jsonBody = (): unknown => {
      if (body.length === 0) return {};
      const j = parseJson(body);
      if (!j.ok) throw new Error('body is not valid JSON');
      return j.value;
    };

    if (method === 'GET' && path === '/__sim/stats') return sendJson(res, 200, this.state.snapshot());
    if (method === 'GET' && path === '/__sim/options') {
      const { answer: _answer, ...numbers } = this.state.opts;
      return sendJson(res, 200, numbers);
    }
    if (method === 'POST' && path === '/__sim/reset') {
      this.state.reset();
      return sendJson(res, 200, { ok: true });
    }
    try {
      if (method === 'POST' && path === '/__sim/all-keys') {
        this.state.behaviors.setAll(parseKeyBehavior(jsonBody()));
        return sendJson(res, 200, { ok: true });
      }
      const km = /^\/__sim\/keys\/([^/]+)$/.exec(path);
      if (method === 'POST' && km) {
        this.state.behaviors.setKey(decodePathSegment(km[1]!), parseKeyBehavior(jsonBody()));
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'POST' && path === '/__sim/options') {
        this.state.setOptions(parseOptionsPatch(jsonBody()));
        return sendJson(res, 200, { ok: true });
      }
    } catch (err) {
      return bad((err as Error).message);
    }
    const mm = /^\/__sim\/media\/([0-9a-f]+)(\/text)?$/.exec(path);
    if (method === 'GET' && mm) {
      const rec = this.state.media.get(mm[1]!);
      if (!rec) return sendJson(res, 404, { errorCode: 'not_found', message: 'Media not found' });
      return mm[2]
        ? sendText(res, 200, 'text/plain; charset=utf-8', rec.context)
        : sendText(res, 200, 'text/plain; charset=utf-8', `[simulated file ${rec.name}]`);
    }
    sendJson(res, 404, { errorCode: 'not_found', message: `Cannot ${method} ${path}` });
  }
}

function sessionView(s: SessionRec): Record<string, unknown> {
  return {
    id: s.id,
    companyId: s.companyId,
    externalUserId: s.externalUserId,
    pluginIds: [...s.pluginIds],
    title: '',
    createdAt: s.createdAt,
  };
}

function mediaView(m: MediaRec): Record<string, unknown> {
  return {
    id: m.id,
    url: m.url,
    sourceUrl: m.sourceUrl,
    extractedTextUrl: m.extractedTextUrl,
    context: m.context,
    mimeType: m.mimeType,
    actionStatus: 'completed',
    failedReason: null,
    name: m.name,
    sizeBytes: m.sizeBytes,
    sessionId: m.sessionId,
    createdAt: m.createdAt,
  };
}
