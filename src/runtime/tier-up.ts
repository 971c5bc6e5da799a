/**
 * Imported by the entry points after heap-growth: when V8 optimizes, in two directions.
 *
 * JavaScript sooner: the gateway's request path is a few hundred small functions, and at V8's own thresholds the first
 * seconds of load (and, on V8 13, the first tens of seconds) ran unoptimized code, with the compilers' jobs landing
 * among the requests on the process's one core. Node 20's V8 (11.x) optimizes a function once it has used up its
 * interrupt budget (bytecode run) a few times: with an eighth of it the slow answers of those seconds fell to about a
 * third, and the steady state changed by nothing measurable. Node 24's V8 (13.x) counts invocations instead, with
 * Maglev before TurboFan: at an eighth of both counts its jobs end within about three seconds of load instead of going
 * on for tens of seconds; side by side, the added latency's p99 at one connection fell from 1.15-1.98 to 0.37-0.69
 * times the floor's, and the CPU per request at 64 connections read lower in every run that had both. Node 22's V8
 * (12.x) counts the same way but runs without Maglev: a sixteenth of its TurboFan count brought its tails down too
 * (the CPU per request stayed within the runs' spread).
 *
 * WebAssembly later (V8 11): undici parses HTTP with llhttp compiled to WebAssembly, and at V8 11's tiering budget the
 * parser's main function goes to TurboFan after the first response or two. Compiling it takes about 33 MB of compiler
 * memory for a moment, which the allocator then keeps in part; with the gateway's start-up calls (the keys' health
 * check, the model catalogue) that happened before the first client request, and an idle gateway held a few MB more
 * (2.3 on average over eight paired starts). With fifty times the budget it comes after about twenty responses: under
 * load, within its first milliseconds. V8 13's own budget (13,000,000) is still reached by the start; a larger one
 * there moves the compile to the first client request or the second, but an idle gateway read the same RSS in the
 * harness either way, so V8 13 keeps its own.
 *
 * Other V8s are left as they are: not measured. An operator's own flag wins. Why, and the measurements:
 * docs/performance.md, "Fifteenth round", "Twentieth round", "Twenty-sixth round" and "Twenty-seventh round".
 */
import { setFlagsFromString } from 'node:v8';
import { operatorSetsHere } from './v8-flags.js';

/** V8 11's --interrupt-budget is 67,584 bytes of bytecode */
export const INTERRUPT_BUDGET = 8448;

/** V8 11's --wasm-tiering-budget is 1,800,000 */
export const WASM_TIERING_BUDGET = 90_000_000;

/** V8 13's --invocation-count-for-maglev is 400 */
export const MAGLEV_INVOCATIONS = 50;

/** V8 13's --invocation-count-for-turbofan is 3,000 */
export const TURBOFAN_INVOCATIONS = 375;

/** V8 12's is 3,000 too, and Node 22 runs it with Maglev off: TurboFan is its only optimizing tier */
export const TURBOFAN_INVOCATIONS_WITHOUT_MAGLEV = 188;

/** the flags set here and their values, by V8's major version */
const BY_V8_MAJOR: Readonly<Record<number, Readonly<Record<string, number>>>> = {
  11: { 'interrupt-budget': INTERRUPT_BUDGET, 'wasm-tiering-budget': WASM_TIERING_BUDGET },
  12: { 'invocation-count-for-turbofan': TURBOFAN_INVOCATIONS_WITHOUT_MAGLEV },
  13: { 'invocation-count-for-maglev': MAGLEV_INVOCATIONS, 'invocation-count-for-turbofan': TURBOFAN_INVOCATIONS },
};

/** the flags to set on this V8 (`process.versions.v8`), by name */
export function tierUpFlags(v8Version: string): ReadonlyMap<string, string> {
  const values = BY_V8_MAJOR[Number.parseInt(v8Version, 10)] ?? {};
  return new Map(Object.entries(values).map(([name, value]) => [name, `--${name}=${value}`]));
}

for (const [name, flag] of tierUpFlags(process.versions.v8)) {
  if (!operatorSetsHere(name)) setFlagsFromString(flag);
}
