/**
 * Imported by the entry points right after no-pretenuring: after each full collection, V8 lets the old generation
 * grow by half of what survived it before the next one, instead of the factor V8 picks itself (up to 4× when full
 * collections are quick next to allocation, as this gateway's are). Under a burst of long streams every stream's
 * state lives past a few young collections and dies in the old generation; with V8's own factor the heap then grew
 * to about three times what was live. An operator's own `--heap-growing-percent` (node's flags or NODE_OPTIONS)
 * wins. Why, and the measurement: docs/performance.md, "Fourteenth round".
 */
import { setFlagsFromString } from 'node:v8';
import { operatorSetsHere } from './v8-flags.js';

export const HEAP_GROWING_PERCENT = 50;

if (!operatorSetsHere('heap-growing-percent')) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
