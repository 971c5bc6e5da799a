/**
 * Browser-facing protections: CORS (off unless CORS_ORIGINS lists origins) and security headers.
 *
 * CORS: with no CORS_ORIGINS the gateway sends no CORS header at all, so browsers on other origins cannot read
 * its answers (server-side clients are unaffected). With origins listed (or `*`), a request from one of them gets
 * Access-Control-Allow-Origin, and its preflight (OPTIONS with Access-Control-Request-Method) is answered 204
 * here, before authentication, because browsers never send credentials on a preflight. Credentials mode is never
 * allowed: keys travel in headers, not cookies.
 *
 * Security headers: every answer carries `X-Content-Type-Options: nosniff`; HTML answers (the dashboard) also get
 * a strict Content-Security-Policy, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and
 * `Cross-Origin-Opener-Policy`, unless the route set its own.
 *
 * Register before the auth hook (app.ts): hooks run in the order they were added.
 */
import type { FastifyInstance } from 'fastify';

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const DEFAULT_ALLOW_HEADERS = 'authorization, content-type, x-api-key, x-goog-api-key, x-request-id, anthropic-version, openai-organization';
const EXPOSE_HEADERS = 'x-request-id, x-ondemand-endpoint, x-gateway-attempts, retry-after, x-should-retry';
const HEADER_LIST = /^[\w-]+(\s*,\s*[\w-]+)*$/;

export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
});

export function applySecurity(app: FastifyInstance, settings: { corsOrigins: readonly string[] }): void {
  const origins = new Set(settings.corsOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  const anyOrigin = origins.has('*');

  if (origins.size > 0) {
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !(anyOrigin || origins.has(origin.toLowerCase()))) return;
      // on the raw response: streamed answers bypass fastify's reply headers
      reply.raw.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
      reply.raw.setHeader('vary', 'Origin');
      const preflightMethod = request.headers['access-control-request-method'];
      if (request.method === 'OPTIONS' && typeof preflightMethod === 'string') {
        const asked = request.headers['access-control-request-headers'];
        const allowHeaders = typeof asked === 'string' && HEADER_LIST.test(asked.trim()) ? asked.trim() : DEFAULT_ALLOW_HEADERS;
        reply.raw.setHeader('vary', 'Origin, Access-Control-Request-Headers');
        return reply
          .code(204)
          .header('access-control-allow-methods', ALLOW_METHODS)
          .header('access-control-allow-headers', allowHeaders)
          .header('access-control-max-age', '600')
          .send();
      }
      reply.raw.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
      return undefined;
    });
  }

  // callback style: no promise per response
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('x-content-type-options', 'nosniff');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS)) {
        if (!reply.hasHeader(name)) void reply.header(name, value);
      }
    }
    done(null, payload);
  });
}
