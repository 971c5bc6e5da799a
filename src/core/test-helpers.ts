/** Shared by tests: the default plugin settings, a rejection checked to be a client's GatewayError, answers collected from events, stage sections. */
import { expect } from 'vitest';
import { AnswerCollector, type AnswerStage, type CollectedEvents } from './answer.js';
import type { CompletionHandle } from './engine.js';
import { GatewayError } from './errors.js';
import { INTERNET_SEARCH_PLUGIN, type PluginSettings } from './plugins.js';
import type { FinishReason, GatewayEvent, GatewayRequest, Usage } from './types.js';

/** The plugin settings of a gateway started without WEB_SEARCH_PLUGIN_ID and PLUGIN_IDS_ALLOWED. */
export const DEFAULT_PLUGIN_SETTINGS: PluginSettings = { webSearchId: INTERNET_SEARCH_PLUGIN, allowed: [] };

export async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

/** What these events amount to, as the collector of a non-stream answer sees them. */
export function collectEvents(events: Iterable<GatewayEvent>): CollectedEvents {
  const collector = new AnswerCollector();
  for (const event of events) collector.add(event);
  return collector.result();
}

/** `query` with the sections these stages add for `req`, each after a blank line, as the engine's query carries them. */
export function withStageSections(query: string, req: Partial<GatewayRequest>, stages: readonly AnswerStage[]): string {
  let out = query;
  for (const stage of stages) {
    const section = stage.section(req as GatewayRequest);
    if (section !== undefined) out += `\n\n${section}`;
  }
  return out;
}

/** A whole answer: what the events amount to, with usage and finish reason always there. */
export type CollectedAnswer = Omit<CollectedEvents, 'usage' | 'finishReason'> & { usage: Usage; finishReason: FinishReason };

/**
 * The whole answer of a completion's event batches. The engine always ends an answer with usage and end; should
 * either be missing, the answer counts as estimated-empty usage and a normal stop.
 */
export async function collectAnswer(batches: AsyncIterable<GatewayEvent[]>): Promise<CollectedAnswer> {
  const collector = new AnswerCollector();
  for await (const batch of batches) for (const event of batch) collector.add(event);
  const { usage, finishReason, ...rest } = collector.result();
  return { ...rest, usage: usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true }, finishReason: finishReason ?? 'stop' };
}

/**
 * A completion's answer as batches to iterate: a stream's as its sink receives them (the failure thrown after the
 * batches before it; leaving the loop early stops the stream, as a client hanging up does), a whole one at once.
 */
export async function* answerBatches(handle: CompletionHandle): AsyncGenerator<GatewayEvent[]> {
  const stream = handle.stream;
  if (stream === undefined) {
    yield [...(handle.whole ?? [])];
    return;
  }
  const queue: GatewayEvent[][] = [];
  let over = false;
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  stream.pipe({
    batch: (events) => {
      queue.push(events);
      wake?.();
    },
    end: () => {
      over = true;
      wake?.();
    },
    fail: (err) => {
      failure = { err };
      wake?.();
    },
  });
  try {
    for (;;) {
      const next = queue.shift();
      if (next !== undefined) yield next;
      else if (failure !== undefined) throw failure.err;
      else if (over) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.stop();
  }
}
