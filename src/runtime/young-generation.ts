/**
 * Imported by the entry points after the other V8 settings: V8's young generation keeps its starting size while the
 * gateway starts, and gets V8's growth back once it listens (`releaseYoungGeneration`, which the entry points call
 * then). V8 doubles its young generation each time more has survived its young collections than it holds, and a
 * start is nothing but survivors (modules, the token table, the routes, the catalogue): the start alone grew it to
 * 16 MB on Node 20, and a gateway at rest kept 10-15 MB of its pages resident until V8's memory reducer shrank it,
 * about eight seconds later. Traffic grows it again within its first collections, as before. An operator's own
 * `--semi-space-growth-factor` wins. Why, and the measurement: docs/performance.md, "Twenty-first round".
 */
import { setFlagsFromString } from 'node:v8';
import { operatorSetsHere } from './v8-flags.js';

/** V8's own --semi-space-growth-factor (V8 11 and 13) */
const V8_GROWTH_FACTOR = 2;

let held = !operatorSetsHere('semi-space-growth-factor');
if (held) setFlagsFromString('--semi-space-growth-factor=1');

/** V8's growth back (idempotent; nothing when the operator set the factor). */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
}
