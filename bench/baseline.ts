/**
 * The benchmark's baseline: the least a forwarder can do. node:http in, one undici Pool out, the same two upstream
 * calls as the gateway (create a session, open a streamed query) and the same translation (the gateway's own
 * frame parser and chat chunk encoder), and nothing else: no framework, no key pool, no failover, no logging.
 * Whatever the gateway costs beyond this is its own overhead.
 *
 * Env: BASE_PORT, UPSTREAM_URL, UPSTREAM_KEYS (comma list, used round-robin), CLIENT_KEY.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { createChatChunkEncoder } from '../src/frontends/openai-chat/stream.js';
import { newCompletionId, renderChatCompletion } from '../src/frontends/openai-chat/response.js';
import { createFrameParser } from '../src/ondemand/frames.js';

const port = Number(process.env['BASE_PORT'] ?? 0);
const upstream = new Pool(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:7861', { keepAliveTimeout: 30_000 });
const keys = (process.env['UPSTREAM_KEYS'] ?? 'bench').split(',');
const bearer = `Bearer ${process.env['CLIENT_KEY'] ?? ''}`;
const ENDPOINT = 'predefined-openai-gpt4o';
let next = 0;
let users = 0;

const headers = (key: string) => ({ 'content-type': 'application/json', 'user-agent': 'bench-baseline/1.0', apikey: key });

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'api_error', param: null, code: null } }));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  if (req.headers.authorization !== bearer) return fail(res, 401, 'bad key');
  const body = JSON.parse(await readBody(req)) as { model: string; stream?: boolean; messages: Array<{ content: string }> };
  const key = keys[next++ % keys.length]!;

  const session = await upstream.request({
    method: 'POST',
    path: '/chat/v1/sessions',
    headers: headers(key),
    body: JSON.stringify({ externalUserId: `bl-${++users}`, pluginIds: [] }),
  });
  const sessionId = ((await session.body.json()) as { data: { id: string } }).data.id;
  const query = await upstream.request({
    method: 'POST',
    path: `/chat/v1/sessions/${sessionId}/query`,
    headers: { ...headers(key), accept: 'text/event-stream' },
    body: JSON.stringify({ query: body.messages[body.messages.length - 1]!.content, endpointId: ENDPOINT, responseMode: 'stream', pluginIds: [] }),
  });
  if (query.statusCode !== 200) return fail(res, 502, `upstream ${query.statusCode}`);

  const parser = createFrameParser();
  const id = newCompletionId();
  const created = Math.floor(Date.now() / 1000);
  if (body.stream === true) {
    const encoder = createChatChunkEncoder({ id, created, model: body.model, includeUsage: false });
    let started = false;
    for await (const chunk of query.body) {
      let out = '';
      for (const ev of parser.push(chunk as Buffer)) {
        if (ev.type === 'delta') out += encoder.encode({ type: 'text', text: ev.text });
        else if (ev.type === 'done') out += encoder.encode({ type: 'end', finishReason: 'stop' }) + encoder.done();
      }
      if (out === '') continue;
      if (!started) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        started = true;
      }
      if (!res.write(out)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
    return;
  }
  let text = '';
  let usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true };
  for await (const chunk of query.body) {
    for (const ev of parser.push(chunk as Buffer)) {
      if (ev.type === 'delta') text += ev.text;
      else if (ev.type === 'metrics') usage = { ...ev, estimated: false };
    }
  }
  const completion = renderChatCompletion({ id, created, model: body.model, text, reasoning: '', toolCalls: [], finishReason: 'stop', usage });
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch((err: unknown) => fail(res, 500, String(err)));
});
server.listen({ port, host: '127.0.0.1' }, () => {
  const addr = server.address();
  console.log(`baseline listening on ${typeof addr === 'object' && addr ? addr.port : port}`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void upstream.close().then(() => process.exit(0));
});
