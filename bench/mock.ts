/**
 * The benchmark's upstream: the least an OnDemand chat service does, answered from prebuilt buffers so the rig's own
 * cost stays small. POST /chat/v1/sessions → 201 with an id; POST /chat/v1/sessions/:id/query → a sync JSON answer,
 * or an SSE stream of `deltas` fulfillment frames of `deltaBytes` each, `intervalMs` apart (the first at once), a
 * metricsLog frame and [DONE]. `delayMs` holds the query's first byte, `sessionDelayMs` the session's answer.
 * GET /__mock/options shows the knobs, POST sets them. A request without an apikey header gets OnDemand's 401.
 * POST /v1/traces takes a traced gateway's OTLP export (`--traced`) and answers 200 with an empty protobuf response.
 *
 * Env: MOCK_PORT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

interface Knobs {
  delayMs: number;
  sessionDelayMs: number;
  deltas: number;
  deltaBytes: number;
  intervalMs: number;
}

const knobs: Knobs = { delayMs: 0, sessionDelayMs: 0, deltas: 64, deltaBytes: 16, intervalMs: 20 };
let frames = build();
let sessions = 0;

/** delta i: its number padded to deltaBytes, so an answer of n deltas is n × deltaBytes bytes of letters and digits */
function build(): { deltas: Buffer[]; tail: Buffer; sync: (sid: string) => Buffer } {
  const piece = (i: number): string => String(i).padEnd(Math.max(1, knobs.deltaBytes), 'x').slice(0, Math.max(1, knobs.deltaBytes));
  const n = Math.max(1, knobs.deltas);
  const deltas = Array.from({ length: n }, (_, i) =>
    Buffer.from(`event:message\ndata:${JSON.stringify({ sessionId: 's', messageId: 'm', eventType: 'fulfillment', answer: piece(i) })}\n\n`),
  );
  const metrics = { inputTokens: 10, outputTokens: n, totalTokens: 10 + n };
  const tail = Buffer.from(`event:message\ndata:${JSON.stringify({ eventType: 'metricsLog', publicMetrics: metrics })}\n\ndata:[DONE]\n\n`);
  const answer = Array.from({ length: n }, (_, i) => piece(i)).join('');
  const sync = (sid: string) => Buffer.from(JSON.stringify({ message: 'ok', data: { sessionId: sid, messageId: 'm', answer, metrics, status: 'completed' } }));
  return { deltas, tail, sync };
}

const after = (ms: number, fn: () => void): void => void (ms > 0 ? setTimeout(fn, ms) : fn());

function json(res: ServerResponse, status: number, body: Buffer | object): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length }).end(buf);
}

function readBody(req: IncomingMessage, then: (text: string) => void): void {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => then(Buffer.concat(parts).toString('utf8')));
}

function stream(res: ServerResponse): void {
  const f = frames;
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => clearTimeout(timer));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const next = (): void => {
    if (res.destroyed) return;
    res.write(f.deltas[i++]);
    if (i < f.deltas.length) timer = setTimeout(next, knobs.intervalMs);
    else res.end(f.tail);
  };
  next();
}

const QUERY = /^\/chat\/v1\/sessions\/([^/]+)\/query$/;

const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const url = req.url ?? '';
  if (url === '/__mock/options') {
    if (req.method === 'GET') return json(res, 200, knobs);
    return readBody(req, (text) => {
      Object.assign(knobs, JSON.parse(text) as Partial<Knobs>);
      frames = build();
      json(res, 200, knobs);
    });
  }
  if (req.method !== 'POST') return json(res, 404, { message: 'no route', errorCode: 'not_found' });
  if (url === '/v1/traces') {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end());
    return;
  }
  if (req.headers['apikey'] === undefined) {
    req.resume();
    return json(res, 401, { message: 'apikey header missing', errorCode: 'unauthenticated' });
  }
  if (url === '/chat/v1/sessions') {
    return readBody(req, () => after(knobs.sessionDelayMs, () => json(res, 201, { message: 'created', data: { id: `sess-${++sessions}` } })));
  }
  const m = QUERY.exec(url);
  if (!m) {
    req.resume();
    return json(res, 404, { message: 'no route', errorCode: 'not_found' });
  }
  readBody(req, (text) => {
    const sync = (JSON.parse(text) as { responseMode?: string }).responseMode === 'sync';
    const f = frames;
    after(knobs.delayMs, () => (sync ? json(res, 200, f.sync(m[1] as string)) : stream(res)));
  });
});
server.listen({ port: Number(process.env['MOCK_PORT'] ?? 0), host: '127.0.0.1', backlog: 4096 });
process.on('SIGTERM', () => process.exit(0));
