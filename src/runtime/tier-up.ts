/**
 * Imported by the entry points after heap-growth: on Node 20's V8 (11.x) a function is optimized once it has used
 * up its interrupt budget (bytecode run) a few times. The gateway's request path is a few hundred small functions,
 * so at V8's budget the first seconds of load after a start ran unoptimized code, with TurboFan's compilations
 * landing among the requests; with an eighth of it the slow answers of those seconds fell to about a third, and the
 * steady state changed by nothing measurable. Later V8s count invocations and have Maglev in between, and their flags differ:
 * nothing is set there. An operator's own `--interrupt-budget` wins. Why, and the measurement: docs/performance.md,
 * "Fifteenth round".
 */
import { setFlagsFromString } from 'node:v8';
import { operatorSetsHere } from './v8-flags.js';

/** V8 11's --interrupt-budget is 67,584 bytes of bytecode */
export const INTERRUPT_BUDGET = 8448;

/** the flag to set on this V8, if any (`process.versions.v8`) */
export function tierUpFlag(v8Version: string): string | undefined {
  return Number.parseInt(v8Version, 10) === 11 ? `--interrupt-budget=${INTERRUPT_BUDGET}` : undefined;
}

const flag = tierUpFlag(process.versions.v8);
if (flag !== undefined && !operatorSetsHere('interrupt-budget')) setFlagsFromString(flag);
