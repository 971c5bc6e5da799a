/**
 * The operator dashboard: three static files (./static) served at /dashboard. The page itself is public (the
 * app's auth hook lets /dashboard and /dashboard/* through); it asks for the admin key, keeps it in
 * sessionStorage and calls the admin JSON APIs with `Authorization: Bearer`, which stay behind the admin key.
 * No CDN, no build step: plain HTML, CSS and JavaScript, read once at start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** Paths the auth hook must let through without a key. */
export function isDashboardPath(path: string): boolean {
  return path === '/dashboard' || path.startsWith('/dashboard/');
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  'icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Running from src/ (tests, tsx) the files sit beside this module; from dist/ they are still in src/. */
function staticDir(): string {
  for (const rel of ['./static/', '../../src/dashboard/static/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('dashboard files not found (src/dashboard/static): set DASHBOARD=false or ship src/dashboard/static');
}

export function dashboardRoutes() {
  const dir = staticDir();
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [name, a] of Object.entries(ASSETS)) files.set(name, { body: readFileSync(`${dir}${a.file}`), type: a.type });

  return (app: FastifyInstance): void => {
    const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
      const f = files.get(name);
      if (f === undefined) return reply.callNotFound();
      return reply.headers(SECURITY_HEADERS).type(f.type).send(f.body);
    };
    app.get('/dashboard', send(''));
    app.get('/dashboard/', send(''));
    for (const name of files.keys()) if (name !== '') app.get(`/dashboard/${name}`, send(name));
  };
}
