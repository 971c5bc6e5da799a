/**
 * Imported by the entry points (main.ts, demo.ts), after no-pretenuring: V8 lets its old generation grow by 25 % of
 * what survived its last full collection before the next one, instead of a factor it picks itself from how fast it
 * collects (up to 4×). Under load the gateway's old space held about 7 MB of garbage for every 22 MB in use; with
 * the fixed factor, peak RSS under load fell by about 10 MB, and CPU per request did not move beyond the machine's
 * noise (a full collection of a heap this small takes a few milliseconds). The measurement: docs/performance.md,
 * "Ninth round: memory".
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--heap-growing-percent=25');
