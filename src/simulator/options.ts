/**
 * The simulator's timing options and answer function as they stand while it runs: built from the start
 * options, patched by setOptions or POST /__sim/options.
 */
import { defaultAnswer } from './answer.js';
import { DEFAULT_PLUGIN_DELAY_MS } from './plugins.js';
import type { AnswerContext, MutableOptions, SimAnswer, SimulatorOptions } from './types.js';
import { isObj } from './validate.js';

export interface RuntimeOptions {
  firstByteDelayMs: number;
  deltaIntervalMs: number;
  /** 0: about one per word */
  deltas: number;
  sessionDelayMs: number;
  heartbeatMs: number;
  pluginDelayMs: number;
  answer: (ctx: AnswerContext) => SimAnswer;
}

const NUMERIC_OPTIONS = ['firstByteDelayMs', 'deltaIntervalMs', 'deltas', 'sessionDelayMs', 'heartbeatMs', 'pluginDelayMs'] as const;

type NumericOptions = Omit<RuntimeOptions, 'answer'>;

/** Validate a JSON options patch from the control surface; throws Error with a readable message. */
export function parseOptionsPatch(raw: unknown): MutableOptions {
  if (!isObj(raw)) throw new Error('body must be a JSON object');
  const out: MutableOptions = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(NUMERIC_OPTIONS as readonly string[]).includes(k)) throw new Error(`unknown option ${k}`);
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`${k} must be a non-negative number`);
    out[k as (typeof NUMERIC_OPTIONS)[number]] = v;
  }
  return out;
}

/** `o` laid over `base` (or over the defaults); throws Error when a number is negative or not finite. */
export function toRuntime(o: SimulatorOptions | MutableOptions, base?: RuntimeOptions): RuntimeOptions {
  const r: RuntimeOptions = base
    ? { ...base }
    : { firstByteDelayMs: 0, deltaIntervalMs: 0, deltas: 0, sessionDelayMs: 0, heartbeatMs: 0, pluginDelayMs: DEFAULT_PLUGIN_DELAY_MS, answer: defaultAnswer };
  for (const k of NUMERIC_OPTIONS) {
    const v = o[k];
    if (v === undefined) continue;
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${k} must be a non-negative number`);
    r[k] = v;
  }
  if (o.answer) r.answer = o.answer;
  return r;
}

/** The options GET /__sim/options shows: all but the answer function. */
export function numericOptions(o: RuntimeOptions): NumericOptions {
  const { answer: _answer, ...numbers } = o;
  return numbers;
}
