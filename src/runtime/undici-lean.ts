/**
 * The pieces of undici the upstream client uses — a connection Pool (whose `dispatch` src/ondemand/exchange.ts
 * drives) and the error classes — loaded without the rest of the package. `import 'undici'` also loads fetch,
 * WebSocket, EventSource, the mock and proxy agents and the cache stores, which the gateway never uses: about 8 MB
 * of resident memory at start (measured with `node -e "require('undici')"` against these files: 58.8 vs 50.5 MB).
 * undici has no "exports" map, so these are its own files; `undici-lean.test.ts` fails loudly if a version moves
 * them. Types come from the package.
 */
import { createRequire } from 'node:module';
import type { Pool as UndiciPool, errors as undiciErrors } from 'undici';

const load = createRequire(import.meta.url);

export const Pool = load('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const errors = load('undici/lib/core/errors.js') as typeof undiciErrors;
