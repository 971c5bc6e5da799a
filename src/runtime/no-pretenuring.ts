/**
 * Imported first by the entry points (main.ts, demo.ts): switches off V8's allocation-site pretenuring before the
 * gateway allocates anything. V8 sends every later object of an allocation site straight to the old generation
 * once most of that site's objects survived a young collection. Under load the gateway's request-scoped objects
 * do survive one, for the 20 ms or more the upstream takes to answer, so their sites get tenured; from then on
 * they die in the old generation, which only a full collection frees, and the young objects they point to
 * survive every young collection through them. Why, and the measurement: docs/performance.md, "Runtime tuning".
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
