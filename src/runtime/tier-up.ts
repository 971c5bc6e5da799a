/**
 * Imported by the entry points after heap-growth: when Node 20's V8 (11.x) optimizes, in two directions.
 *
 * JavaScript sooner: a function is optimized once it has used up its interrupt budget (bytecode run) a few times. The
 * gateway's request path is a few hundred small functions, so at V8's budget the first seconds of load after a start
 * ran unoptimized code, with TurboFan's compilations landing among the requests; with an eighth of it the slow answers
 * of those seconds fell to about a third, and the steady state changed by nothing measurable.
 *
 * WebAssembly later: undici parses HTTP with llhttp compiled to WebAssembly, and at V8's tiering budget the parser's
 * main function goes to TurboFan after the first response or two. Compiling it takes about 33 MB of compiler memory for
 * a moment, which the allocator then keeps in part; with the gateway's start-up calls (the keys' health check, the
 * model catalogue) that happened before the first client request, and an idle gateway held a few MB more (2.3 on
 * average over eight paired starts). With fifty times the budget it comes after about twenty responses: under load,
 * within its first milliseconds.
 *
 * Later V8s count invocations and have Maglev in between, and their flags differ: nothing is set there. An operator's
 * own flag wins. Why, and the measurements: docs/performance.md, "Fifteenth round" and "Twentieth round".
 */
import { setFlagsFromString } from 'node:v8';
import { operatorSetsHere } from './v8-flags.js';

/** V8 11's --interrupt-budget is 67,584 bytes of bytecode */
export const INTERRUPT_BUDGET = 8448;

/** V8 11's --wasm-tiering-budget is 1,800,000 */
export const WASM_TIERING_BUDGET = 90_000_000;

/** V8 11's flags and the values set here */
const ON_V8_ELEVEN = { 'interrupt-budget': INTERRUPT_BUDGET, 'wasm-tiering-budget': WASM_TIERING_BUDGET };

/** the flags to set on this V8 (`process.versions.v8`), by name */
export function tierUpFlags(v8Version: string): ReadonlyMap<string, string> {
  if (Number.parseInt(v8Version, 10) !== 11) return new Map();
  return new Map(Object.entries(ON_V8_ELEVEN).map(([name, value]) => [name, `--${name}=${value}`]));
}

for (const [name, flag] of tierUpFlags(process.versions.v8)) {
  if (!operatorSetsHere(name)) setFlagsFromString(flag);
}
