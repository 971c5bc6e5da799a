import type { GatewayEvent } from '../core/types.js';

/** What a streaming response reports while it runs (the runner calls it; observability counts it). */
export interface StreamProbe {
  /** a batch of answer events is about to be written (one socket write) */
  write(events: readonly GatewayEvent[]): void;
  /** the stream is over, however it ended; idempotent */
  end(): void;
}
