/**
 * The floor: the least an OpenAI → OnDemand translator can do, and what every figure of the gateway is divided by.
 * node:http in, one undici Pool out, the same two upstream calls per request (create a session, then query it: sync
 * for a plain answer, stream for a streamed one), the answer mapped to chat.completion or chat.completion.chunk
 * SSE (bench/floor-answer.ts). Nothing else: no framework, no key pool, no retries, no limits, no logging. It shares
 * no code with the gateway, so a change to the gateway never moves its own yardstick.
 *
 * Env: FLOOR_PORT, UPSTREAM_URL, UPSTREAM_KEYS (comma list, round-robin), CLIENT_KEY.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { answer, bearer, closeUpstream, fail } from './floor-answer.js';

/** async, so that a body that is not JSON rejects and the caller's catch answers it */
async function answerText(res: ServerResponse, text: string): Promise<void> {
  return answer(res, JSON.parse(text) as object);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  if (req.headers.authorization !== bearer) {
    req.resume();
    return fail(res, 401, 'bad key');
  }
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => void answerText(res, Buffer.concat(parts).toString('utf8')).catch((err: unknown) => fail(res, 502, String(err))));
}

const server = createServer({ keepAliveTimeout: 120_000, noDelay: true }, handle);
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen({ port: Number(process.env['FLOOR_PORT'] ?? 0), host: '127.0.0.1', backlog: 4096 });
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void closeUpstream().then(() => process.exit(0));
});
