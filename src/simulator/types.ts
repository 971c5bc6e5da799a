/**
 * Public types of the OnDemand simulator (re-exported by ./index.ts).
 */

export interface AnswerContext {
  /** the `query` field of the request body */
  query: string;
  endpointId: string;
  sessionId: string;
  /** earlier turns of this session, oldest first: [query1, answer1, query2, answer2, ...] */
  history: string[];
  /** names of the media files bound to this session */
  media?: string[];
  /** the body's `reasoningEffort`, when present */
  reasoningEffort?: string;
  /** the plugins that run for this query (the query's `pluginIds`, else the session's), when there are any */
  pluginIds?: string[];
}

export interface SimAnswer {
  text: string;
  thinking?: string;
  inputTokens?: number;
  outputTokens?: number;
  /** stream: send `afterDeltas` fulfillment deltas then `data:[ERROR]:{...}`; sync: answer with the error as HTTP status */
  error?: { afterDeltas: number; message: string; errorCode: string };
}

export interface SimulatorOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (ephemeral) */
  port?: number;
  /** accepted apikeys; if empty/undefined any non-empty apikey is accepted */
  keys?: string[];
  /** delay before the first frame / before a sync answer (default 0) */
  firstByteDelayMs?: number;
  /** delay between fulfillment (and thinking) deltas (default 0) */
  deltaIntervalMs?: number;
  /** number of fulfillment deltas the answer is split into (default: about one per word, max 64) */
  deltas?: number;
  /** delay before answering session creation (default 0) */
  sessionDelayMs?: number;
  /** heartbeat frame interval while streaming (0 = none; default 0). One heartbeat always opens a stream. */
  heartbeatMs?: number;
  /**
   * how long a plugin run's plugins take, between the plugin call and the answer (default 20). Plugin runs send
   * heartbeats every heartbeatMs, or every 3 s when heartbeatMs is 0.
   */
  pluginDelayMs?: number;
  /** computes the answer; default: defaultAnswer from ./answer.ts */
  answer?: (ctx: AnswerContext) => SimAnswer;
}

/** Options that can be changed while running (setOptions, POST /__sim/options). */
export type MutableOptions = Partial<Omit<SimulatorOptions, 'host' | 'port' | 'keys'>>;

/** Which upstream calls a behavior applies to. `both` = every call a key makes except GETs (sessions, queries, media uploads). */
export type BehaviorScope = 'session' | 'query' | 'media' | 'both';

export type KeyBehavior =
  | { kind: 'ok' }
  /** answer with this status; body defaults to {errorCode,message} for the status; html: a Cloudflare-like page */
  | { kind: 'http'; status: number; body?: unknown; html?: boolean; retryAfterSec?: number; on?: BehaviorScope }
  /** destroy the socket (TCP reset) without answering */
  | { kind: 'reset'; on?: BehaviorScope }
  /** accept, never answer (until the client gives up) */
  | { kind: 'stall'; on?: BehaviorScope }
  /** answer normally after a delay before headers */
  | { kind: 'slow'; delayMs: number; on?: BehaviorScope }
  /** stream: 200, N deltas, then the socket is destroyed (no [DONE]). Sync: the socket is reset. */
  | { kind: 'cut'; afterDeltas: number }
  /** stream: N deltas then data:[ERROR]:{...} and a clean end. Sync: HTTP error with that errorCode. */
  | { kind: 'stream_error'; afterDeltas: number; errorCode?: string; message?: string }
  /** stream: N deltas then silence, socket kept open. Sync: never answers. */
  | { kind: 'stall_stream'; afterDeltas: number };

/** `times`: applies to the next N matching calls, then the key reverts to ok. */
export type KeyBehaviorSpec = KeyBehavior & { times?: number };

export interface KeyStats {
  sessions: number;
  queries: number;
  failures: number;
}

export interface SimStats {
  sessionsCreated: number;
  queries: number;
  /** keyed by the raw key (test-only tool): calls received and failures answered per key */
  byKey: Record<string, KeyStats>;
  /** the last query JSON body received */
  lastQuery: unknown;
  /** header names (lower case) of the last query request received: what the gateway forwards upstream */
  lastQueryHeaders: string[];
  /** the session id in the last query's path */
  lastQuerySessionId: string | undefined;
  /** last 100 query bodies, oldest first */
  queryBodies: unknown[];
  /** streams currently open (being written or stalled) */
  openStreams: number;
  /** streams whose client closed before the simulator finished */
  abortedStreams: number;
  /** queries sent to a session that already had a query (0 for the gateway unless it continues sessions, SESSION_CONTINUATION) */
  sessionsReused: number;
  /** queries sent with a key other than the one that created the session (should stay 0) */
  crossKeyQueries: number;
  /** media uploads accepted (JSON and raw) */
  mediaUploads: number;
  /** the last 100 accepted uploads, oldest first */
  uploads: UploadRecord[];
  /** the last 100 calls (sessions, queries, uploads) that carried a `traceparent` header, oldest first */
  traceparents: TraceparentRecord[];
}

/** A call that carried W3C trace context (the gateway sends it when tracing is on). */
export interface TraceparentRecord {
  call: 'session' | 'query' | 'media';
  /** the raw key (test-only tool) */
  key: string;
  traceparent: string;
}

/** What an accepted media upload asked for. */
export interface UploadRecord {
  /** `url`: the JSON upload (OnDemand fetches the URL); `file`: the multipart upload */
  via: 'url' | 'file';
  name: string;
  mimeType: string;
  /** the plugin ids sent (the multipart upload may send none) */
  plugins: string[];
  sessionId: string | null;
  sizeBytes: number | null;
  /** the `context` answered */
  context: string;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:41234 (origin, no trailing slash) */
  url: string;
  /** stops listening and destroys open sockets */
  close(): Promise<void>;
  setKeyBehavior(key: string, b: KeyBehaviorSpec): void;
  /** upstream-wide trouble (e.g. IP-wide 429); takes precedence over per-key behaviors */
  setAllKeysBehavior(b: KeyBehaviorSpec): void;
  /** behaviors to ok, stats to zero, options restored (sessions and media are kept) */
  reset(): void;
  setOptions(partial: MutableOptions): void;
  stats(): SimStats;
  /** forget every session, as the upstream does when sessions expire on its side; returns how many */
  forgetSessions(): number;
}
