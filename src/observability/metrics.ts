/**
 * Prometheus metrics with prom-client, in a registry of this gateway's own (several gateways in one process, as
 * in the tests, never share series). Fed from three places: the per-request record (recordRequest, called from
 * the app's onResponse hook), the pool (watchPool: its change events, its key list, and every lease and call
 * outcome, judged by the failure policy), and the streaming loop (streamProbe: streams in flight and the gap
 * between answer chunks).
 *
 * Label values a client chooses (the model name) are capped: past MODEL_LABELS distinct values they become
 * "other", so nobody can grow the series without bound.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GatewayEvent } from '../core/types.js';
import type { StreamProbe } from '../http/stream-probe.js';
import type { KeyPoolChange, KeyPool, PoolCall } from '../keypool/pool.js';
import type { KeyStatus } from '../keypool/types.js';
import { redisUp } from '../store/redis-connection.js';
import { PendingCounter, PendingHistogram } from './pending.js';

const KEY_STATES: readonly KeyStatus[] = ['active', 'probation', 'cooling', 'degraded', 'dead', 'disabled'];
const MODEL_LABELS = 50;
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
const GAP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export type { StreamProbe };

export interface RequestSample {
  /** the route pattern (e.g. /v1/chat/completions), "unmatched" for 404s */
  route: string;
  model: string | undefined;
  status: number;
  durationMs: number;
  ttftMs: number | undefined;
  tokensIn: number;
  tokensOut: number;
}

export type PoolView = Pick<KeyPool, 'list' | 'onChange' | 'onCall' | 'circuitInfo'>;

/**
 * Keeps the first `max` distinct values of a label; later ones read "other". Answers with the string it kept, so the
 * tallies' lookups compare one long-lived string with itself rather than a request's copy character by character.
 */
class LabelCap {
  private readonly seen = new Map<string, string>();
  constructor(private readonly max: number) {}
  label(value: string): string {
    const kept = this.seen.get(value);
    if (kept !== undefined) return kept;
    if (this.seen.size >= this.max) return 'other';
    this.seen.set(value, value);
    return value;
  }
}

/** a piece of the answer itself (what the chunk gap is measured between), not usage or the end */
const carriesAnswer = (event: GatewayEvent): boolean => event.type === 'text' || event.type === 'reasoning' || event.type === 'tool_calls';

export class GatewayMetrics {
  readonly registry = new Registry();
  // the per-request metrics live only in the registry: each folds its pending numbers in when it is read
  private readonly models = new LabelCap(MODEL_LABELS);
  private readonly failovers: Counter;
  private readonly cooldowns: Counter<'state'>;
  private readonly transitions: Counter<'to'>;
  private readonly circuitTrips: Counter<'class'>;
  private readonly streams: Gauge;
  private pool: PoolView | undefined;
  private unwatch: (() => void) | undefined;
  private unwatchCalls: (() => void) | undefined;
  // the hot path's updates, in plain numbers; folded into the metrics above when the registry is read (pending.ts)
  private readonly pendingRequests = new PendingCounter(['route', 'model', 'status']);
  private readonly pendingTokens = new PendingCounter(['model', 'direction']);
  private readonly pendingCalls = new PendingCounter(['key', 'outcome']);
  private readonly pendingDuration = new PendingHistogram(DURATION_BUCKETS, ['route']);
  private readonly pendingTtft = new PendingHistogram(TTFT_BUCKETS, ['model']);
  private readonly pendingGap = new PendingHistogram(GAP_BUCKETS, []);

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
    new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests answered, by route, model (API requests) and status',
      labelNames: ['route', 'model', 'status'],
      registers,
      collect() {
        self.pendingRequests.flush(this);
      },
    });
    new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time from request to the last byte of the response, by route',
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers,
      collect() {
        self.pendingDuration.flush(this);
      },
    });
    new Histogram({
      name: 'gateway_time_to_first_token_seconds',
      help: 'Time from request to the first piece of the answer (failover included), by model',
      labelNames: ['model'],
      buckets: TTFT_BUCKETS,
      registers,
      collect() {
        self.pendingTtft.flush(this);
      },
    });
    new Histogram({
      name: 'gateway_stream_chunk_gap_seconds',
      help: 'Gap between consecutive answer chunks written to streaming clients',
      buckets: GAP_BUCKETS,
      registers,
      collect() {
        self.pendingGap.flush(this);
      },
    });
    new Counter({
      name: 'gateway_tokens_total',
      help: 'Tokens by model and direction (in = prompt, out = completion)',
      labelNames: ['model', 'direction'],
      registers,
      collect() {
        self.pendingTokens.flush(this);
      },
    });
    new Counter({
      name: 'gateway_upstream_calls_total',
      help: 'Upstream calls by key fingerprint and outcome class (ok, auth, rate, transient, edge, client)',
      labelNames: ['key', 'outcome'],
      registers,
      collect() {
        self.pendingCalls.flush(this);
      },
    });
    this.failovers = new Counter({
      name: 'gateway_failovers_total',
      help: 'Attempts made on another key after a failure before the answer started',
      registers,
    });
    this.cooldowns = new Counter({
      name: 'gateway_key_cooldowns_total',
      help: 'Times a key entered a cooldown (cooling after 429s, degraded after transient failures)',
      labelNames: ['state'],
      registers,
    });
    this.transitions = new Counter({
      name: 'gateway_key_transitions_total',
      help: 'Key state changes, by the state entered',
      labelNames: ['to'],
      registers,
    });
    this.circuitTrips = new Counter({
      name: 'gateway_circuit_trips_total',
      help: 'Times the upstream-wide circuit opened, by failure class',
      labelNames: ['class'],
      registers,
    });
    this.streams = new Gauge({ name: 'gateway_streams_in_flight', help: 'Streaming responses being written now', registers });
    new Gauge({
      name: 'gateway_keys',
      help: 'Keys in the pool by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(KEY_STATES.map((s) => [s, 0]));
        for (const k of self.pool?.list() ?? []) counts.set(k.state, (counts.get(k.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'gateway_key_state',
      help: 'Each key by fingerprint, 1 for its current state',
      labelNames: ['key', 'state'],
      registers,
      collect() {
        this.reset();
        for (const k of self.pool?.list() ?? []) this.set({ key: k.fingerprint, state: k.state }, 1);
      },
    });
    new Gauge({
      name: 'gateway_key_in_flight',
      help: 'Calls in flight per key',
      labelNames: ['key'],
      registers,
      collect() {
        this.reset();
        for (const k of self.pool?.list() ?? []) this.set({ key: k.fingerprint }, k.inFlight);
      },
    });
    new Gauge({
      name: 'gateway_circuit_open',
      help: '1 while the upstream-wide circuit is open or half-open',
      registers,
      collect() {
        this.set(self.pool !== undefined && self.pool.circuitInfo().phase !== 'closed' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_redis_up',
      help: '1 while the shared Redis (REDIS_URL) answers, 0 while this gateway serves on local state; absent without REDIS_URL',
      registers,
      collect() {
        const up = redisUp();
        if (up !== undefined) this.set(up);
      },
    });
  }

  recordRequest(s: RequestSample): void {
    const model = s.model === undefined ? '' : this.models.label(s.model);
    const route = s.route;
    this.pendingRequests.add(1, route, model, s.status);
    this.pendingDuration.observe(s.durationMs / 1000, route);
    if (s.model === undefined) return;
    if (s.ttftMs !== undefined) this.pendingTtft.observe(s.ttftMs / 1000, model);
    if (s.tokensIn > 0) this.pendingTokens.add(s.tokensIn, model, 'in');
    if (s.tokensOut > 0) this.pendingTokens.add(s.tokensOut, model, 'out');
  }

  /** Key gauges read the pool at scrape time; its change events and calls feed the counters. */
  watchPool(pool: PoolView): void {
    this.pool = pool;
    let trips = pool.circuitInfo().trips;
    this.unwatch = pool.onChange((change: KeyPoolChange) => {
      if (change.type === 'state') {
        this.transitions.inc({ to: change.key.state });
        if (change.key.state === 'cooling' || change.key.state === 'degraded') this.cooldowns.inc({ state: change.key.state });
      } else if (change.type === 'circuit') {
        if (change.circuit.trips > trips && change.circuit.phase === 'open') this.circuitTrips.inc({ class: change.circuit.cls ?? 'unknown' });
        trips = change.circuit.trips;
      }
    });
    this.unwatchCalls = pool.onCall((call: PoolCall) => {
      if (call.type === 'leased') {
        if (call.failover) this.failovers.inc();
        return;
      }
      this.pendingCalls.add(1, call.fingerprint, call.outcome);
    });
  }

  /** For one streaming response: counts it in flight and observes the gap between its answer chunks. */
  readonly streamProbe = (): StreamProbe => {
    this.streams.inc();
    let last = -1;
    let ended = false;
    return {
      write: (events) => {
        if (!events.some(carriesAnswer)) return;
        const now = performance.now();
        if (last >= 0) this.pendingGap.observe((now - last) / 1000);
        last = now;
      },
      end: () => {
        if (ended) return;
        ended = true;
        this.streams.dec();
      },
    };
  };

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.unwatch?.();
    this.unwatchCalls?.();
    this.registry.clear();
  }
}
