/**
 * The pieces of undici the upstream client uses — a connection Pool, its `request` API and the error classes —
 * loaded without the rest of the package. `import 'undici'` also loads fetch, WebSocket, EventSource, the mock and
 * proxy agents and the cache stores, which the gateway never uses: about 8 MB of resident memory at start (measured
 * with `node -e "require('undici')"` against these three files: 58.8 vs 50.5 MB). undici has no "exports" map, so
 * these are its own files; `undici-lean.test.ts` fails loudly if a version moves them. Types come from the package.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool, errors as undiciErrors } from 'undici';

const load = createRequire(import.meta.url);

export const Pool = load('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const errors = load('undici/lib/core/errors.js') as typeof undiciErrors;

const api = load('undici/lib/api/index.js') as { request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData> };

/** `pool.request(opts)` as the full package would have it (it mixes the same function into Dispatcher.prototype). */
export function request(pool: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  return api.request.call(pool, opts);
}
