/**
 * The floor served by fastify: the same translator (bench/floor-answer.ts) behind one fastify 5 route, with fastify's
 * JSON body parser and no hooks, logger off. Against the floor it measures what serving a request through fastify
 * costs, which the gateway pays on every request (`npm run bench -- --fastify-floor`; docs/performance.md, "Twenty-fourth
 * round", for what else such a copy can pick up).
 *
 * Env: FLOOR_PORT, UPSTREAM_URL, UPSTREAM_KEYS (comma list, round-robin), CLIENT_KEY.
 */
import Fastify from 'fastify';
import { answer, bearer, closeUpstream, fail } from './floor-answer.js';

const app = Fastify({ logger: false, keepAliveTimeout: 120_000, requestTimeout: 0 });
app.server.headersTimeout = 0;
app.get('/', (_request, reply) => void reply.type('text/plain').send('ok'));
app.post('/v1/chat/completions', (request, reply) => {
  // the answer is written as the floor writes it (the reply's own send path costs nothing measurable next to it)
  reply.hijack();
  if (request.headers.authorization !== bearer) return fail(reply.raw, 401, 'bad key');
  answer(reply.raw, request.body as object).catch((err: unknown) => fail(reply.raw, 502, String(err)));
});

await app.listen({ port: Number(process.env['FLOOR_PORT'] ?? 0), host: '127.0.0.1', backlog: 4096 });
process.on('SIGTERM', () => {
  void app.close();
  app.server.closeAllConnections();
  void closeUpstream().then(() => process.exit(0));
});
