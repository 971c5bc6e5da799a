/**
 * The seam the emulations (tool calls, structured output) share: a synchronous filter, event in, events out,
 * run over the engine's batches. Synchronous so each filter is a pure table-tested class; the batching is here.
 */
import type { GatewayEvent } from './types.js';

export interface EventFilter {
  push(event: GatewayEvent): GatewayEvent[];
}

/** Where a filter reports an answer it passed on although it is not what the request asked for. */
export interface WarnLog {
  warn(obj: object, msg: string): void;
}

/** The batches through `filter`; a batch that filters down to nothing is not yielded. */
export async function* filterEvents(batches: AsyncIterable<GatewayEvent[]>, filter: EventFilter): AsyncGenerator<GatewayEvent[]> {
  for await (const batch of batches) {
    const out: GatewayEvent[] = [];
    for (const event of batch) for (const e of filter.push(event)) out.push(e);
    if (out.length > 0) yield out;
  }
}
