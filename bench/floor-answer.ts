/**
 * What the floor does with a request once it has its body: the two upstream calls (create a session, then query it:
 * sync for a plain answer, stream for a streamed one) and the answer mapped to chat.completion or
 * chat.completion.chunk SSE, written straight to node's response. Shared by the floor (bench/floor.ts, node:http) and
 * its fastify twin (bench/floor-fastify.ts), so the two differ only in what serves the request.
 *
 * Env: UPSTREAM_URL, UPSTREAM_KEYS (comma list, round-robin), CLIENT_KEY.
 */
import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:1', { connections: 4096, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
const keys = (process.env['UPSTREAM_KEYS'] ?? 'k').split(',');
/** the one client key, as the Authorization header carries it */
export const bearer = `Bearer ${process.env['CLIENT_KEY'] ?? ''}`;
const ENDPOINTS: Record<string, string> = { 'gpt-4o': 'predefined-openai-gpt4o', 'gpt-4o-mini': 'predefined-openai-gpt4o-mini' };
let calls = 0;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
const usageOf = (m: { inputTokens?: number; outputTokens?: number; totalTokens?: number } = {}): Usage => ({
  prompt_tokens: m.inputTokens ?? 0,
  completion_tokens: m.outputTokens ?? 0,
  total_tokens: m.totalTokens ?? 0,
});

export function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'api_error', param: null, code: null } }));
}

function post(path: string, key: string, body: object) {
  return upstream.request({ method: 'POST', path, headers: { 'content-type': 'application/json', apikey: key }, body: JSON.stringify(body) });
}

/** Answers one parsed chat completions body on `res`. */
export async function answer(res: ServerResponse, body: object): Promise<void> {
  const req = body as { model?: string; stream?: boolean; messages?: Array<{ role: string; content: unknown }> };
  const model = req.model ?? 'gpt-4o';
  const endpointId = ENDPOINTS[model];
  if (endpointId === undefined) return fail(res, 400, `unknown model ${model}`);
  const last = req.messages?.[req.messages.length - 1];
  const query = typeof last?.content === 'string' ? last.content : '';
  const stream = req.stream === true;
  const key = keys[calls++ % keys.length] as string;
  const session = await post('/chat/v1/sessions', key, { externalUserId: 'floor', pluginIds: [] });
  const sid = ((await session.body.json()) as { data?: { id?: string } }).data?.id;
  if (session.statusCode !== 201 || sid === undefined) return fail(res, 502, `session ${session.statusCode}`);
  const q = await post(`/chat/v1/sessions/${sid}/query`, key, { query, endpointId, responseMode: stream ? 'stream' : 'sync', pluginIds: [] });
  if (q.statusCode !== 200) {
    await q.body.dump();
    return fail(res, 502, `query ${q.statusCode}`);
  }
  const id = `chatcmpl-${(calls * 2654435761).toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    const d = ((await q.body.json()) as { data?: { answer?: string; metrics?: object } }).data ?? {};
    const out = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: d.answer ?? '' }, finish_reason: 'stop' }],
      usage: usageOf(d.metrics),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    return;
  }
  const chunk = (delta: object, finish: string | null): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(chunk({ role: 'assistant', content: '' }, null));
  res.on('close', () => q.body.destroy());
  q.body.setEncoding('utf8');
  let pending = '';
  for await (const part of q.body as AsyncIterable<string>) {
    pending += part;
    let out = '';
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const frame = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = frame.slice(frame.indexOf('data:') + 5).trim();
      if (data === '[DONE]') {
        res.end(`${out}${chunk({}, 'stop')}data: [DONE]\n\n`);
        return;
      }
      const ev = JSON.parse(data) as { eventType?: string; answer?: string };
      if (ev.eventType === 'fulfillment' && ev.answer) out += chunk({ content: ev.answer }, null);
    }
    if (out !== '') res.write(out);
  }
  res.end();
}

export function closeUpstream(): Promise<void> {
  return upstream.close();
}
