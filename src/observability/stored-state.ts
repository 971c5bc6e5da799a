/**
 * What operators see of stored responses and conversations: how many there are and how many bytes of JSON they
 * hold (gauges read from the store, at most once a second), how turns were kept, and how often a turn
 * continued an OnDemand session instead of replaying the conversation. Also `GET /admin/stored` for the dashboard.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StoredStateStats } from '../store/types.js';

/** The store's counts, as the metrics and the dashboard read them. */
export interface StoredStateSource {
  stats(): StoredStateStats | Promise<StoredStateStats>;
}

/** the three gauges of one scrape read the store once */
const CACHE_MS = 1_000;

export class StoredStateMetrics {
  private readonly writes: Counter<'kind' | 'outcome'>;
  private readonly continuations: Counter<'outcome'>;
  private cached: { at: number; stats: Promise<StoredStateStats> } | undefined;

  constructor(
    registry: Registry,
    private readonly source: StoredStateSource,
  ) {
    const registers = [registry];
    this.writes = new Counter({
      name: 'gateway_stored_writes_total',
      help: 'Turns kept (a stored response, items appended to a conversation), by outcome: ok, too_large (RESPONSES_MAX_BYTES), error (the store failed)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.continuations = new Counter({
      name: 'gateway_session_continuations_total',
      help: 'Turns that could continue an OnDemand session (SESSION_CONTINUATION): continued, or replayed into a fresh session',
      labelNames: ['outcome'],
      registers,
    });
    const gauge = (name: string, help: string, pick: (s: StoredStateStats) => number): void => {
      const g: Gauge = new Gauge({
        name,
        help,
        registers,
        collect: async () => {
          try {
            g.set(pick(await this.stats()));
          } catch {
            // the store is away (Redis down): the gauge keeps its last value
          }
        },
      });
    };
    gauge('gateway_stored_responses', 'Stored responses (not expired)', (s) => s.responses);
    gauge('gateway_stored_conversations', 'Conversations (not expired)', (s) => s.conversations);
    gauge('gateway_stored_bytes', 'Bytes of JSON in stored responses and conversation items', (s) => s.bytes);
  }

  saved(kind: 'response' | 'conversation', outcome: 'ok' | 'too_large' | 'error'): void {
    this.writes.inc({ kind, outcome });
  }

  continuation(outcome: 'continued' | 'replayed'): void {
    this.continuations.inc({ outcome });
  }

  /** The store's counts, as they are now. */
  current(): Promise<StoredStateStats> {
    return Promise.resolve().then(() => this.source.stats());
  }

  /** The store's counts, read at most once a second (the gauges of one scrape share one read). */
  stats(): Promise<StoredStateStats> {
    const now = Date.now();
    if (this.cached === undefined || now - this.cached.at > CACHE_MS) {
      const stats = this.current();
      stats.catch(() => {
        this.cached = undefined;
      });
      this.cached = { at: now, stats };
    }
    return this.cached.stats;
  }
}

/** GET /admin/stored: the counts and the settings that shape them, for the dashboard. */
export function storedStateAdminRoutes(metrics: StoredStateMetrics, settings: { enabled: boolean; retentionDays: number; maxBytes: number; continueSessions: boolean }) {
  return (app: FastifyInstance): void => {
    app.get('/admin/stored', async () => ({ ...(await metrics.current()), ...settings }));
  };
}
