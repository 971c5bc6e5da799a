/**
 * The seam the emulations (tool calls, structured output) share: a synchronous filter, event in, events out,
 * run over the engine's batches. Synchronous so each filter is a pure table-tested class; the engine batches.
 */
import type { GatewayEvent } from './types.js';

export interface EventFilter {
  push(event: GatewayEvent): GatewayEvent[];
}

/** Where a filter reports an answer it passed on although it is not what the request asked for. */
export interface WarnLog {
  warn(obj: object, msg: string): void;
}
