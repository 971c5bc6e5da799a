/** Only undici's Pool and error classes, not the whole package; why, and the measurement: docs/performance.md, "Runtime tuning". */
import { createRequire } from 'node:module';
import type { Pool as UndiciPool, errors as undiciErrors } from 'undici';

const load = createRequire(import.meta.url);

// undici's own files (it has no "exports" map): undici-lean.test.ts fails if a version moves them; types from the package
export const Pool = load('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const errors = load('undici/lib/core/errors.js') as typeof undiciErrors;
/** undici's raw header list (name, value, name, value…) as an object of lower-case names */
export const parseHeaders = (load('undici/lib/core/util.js') as { parseHeaders: (raw: Buffer[]) => Record<string, string | string[]> }).parseHeaders;
