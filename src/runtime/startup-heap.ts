/**
 * Imported by the entry points (main.ts, demo.ts) before the gateway's modules load: V8 doubles its young
 * generation whenever most of what a young collection finds is still alive, and a start is nothing but that (the
 * modules' code and sources, the token table, the routes all live on), so every start left 16 MB of young space
 * committed in a process that, idle, uses one or two of them. Growth is held off from here until the gateway is
 * about to listen; `startupOver` gives V8 its own factor back, so the first load grows the space as it always did.
 * Why, and the measurement: docs/performance.md, "Eleventh round".
 */
import { setFlagsFromString } from 'node:v8';

/** V8's own --semi-space-growth-factor (the same in Node 20 and 24) */
const V8_GROWTH_FACTOR = 2;

setFlagsFromString('--semi-space-growth-factor=1');

/** The start is over: V8 grows its young generation again, as it always did under load. */
export function startupOver(): void {
  setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
}
