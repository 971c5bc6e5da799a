/**
 * Where key state survives restarts (and, with a shared store, is seen by every replica). The pool is the only
 * caller; it never writes on the request path: it batches dirty keys and flushes on a timer and at shutdown.
 *
 * Methods may answer synchronously (SQLite) or with a promise (Redis): the pool awaits either.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Where a key came from; decides what survives a restart or a config reload (the merge rule in the key pool). */
export type KeySource = 'env' | 'file' | 'admin';

export interface KeyRecord {
  /** primary key: "k:" + 8 (rarely 16) hex digits of sha256(key) */
  fingerprint: string;
  /**
   * The raw key, kept only for admin-added keys (they have no other home to come back from after a restart);
   * null for env/file keys, whose home is the configuration. Whatever holds these records holds secrets.
   */
  key: string | null;
  source: KeySource;
  weight: number;
  label?: string;
  /** the pool's KeyState as plain JSON; opaque to the store, validated by the pool on load */
  state: unknown;
  /** ms epoch of the write */
  updatedAt: number;
}

/** A change another replica made, for stores that share state (pub/sub). */
export type RemoteKeyChange = { type: 'upsert'; record: KeyRecord } | { type: 'delete'; fingerprint: string };

export interface StateStore {
  loadKeys(): MaybePromise<KeyRecord[]>;
  /** upsert, all or nothing */
  saveKeys(records: KeyRecord[]): MaybePromise<void>;
  deleteKey(fingerprint: string): MaybePromise<void>;
  close(): MaybePromise<void>;
  /**
   * Optional: changes written by other replicas. The pool applies them without writing them back. A shared store
   * should publish after its own saveKeys/deleteKey and not echo a replica's own writes to it.
   * Returns an unsubscribe function.
   */
  subscribe?(onChange: (change: RemoteKeyChange) => void): () => void;
}

/** A client key added through the admin API, as stored (SQLite row / Redis hash value); the key only as its digest. */
export interface StoredClientKey {
  name: string;
  /** hex sha256 of the key */
  digest: string;
  models?: string[] | undefined;
  rpm?: number | undefined;
  tpd?: number | undefined;
  /** OnDemand plugins the key may run; undefined: any the gateway allows */
  plugins?: string[] | undefined;
  /** ms epoch */
  createdAt?: number | undefined;
}

/**
 * Usage accounting (src/observability/usage.ts): counters per UTC day, model, client key and upstream key. The
 * recorder aggregates in memory and hands the store increments in batches, never on the request path. Neither
 * `client` nor `upstreamKey` is ever a raw key: both are fingerprints ("c:…", "k:…").
 */
export interface UsageRow {
  /** UTC day, YYYY-MM-DD */
  day: string;
  model: string;
  client: string;
  upstreamKey: string;
  requests: number;
  tokensIn: number;
  tokensOut: number;
  errors: number;
}

export interface UsageStore {
  /** adds each row's counts to the stored row with the same (day, model, client, upstreamKey); all or nothing */
  addUsage(rows: UsageRow[]): MaybePromise<void>;
  /** every row with day >= sinceDay, oldest day first */
  loadUsage(sinceDay: string): MaybePromise<UsageRow[]>;
  /** drops rows older than beforeDay; returns how many went */
  pruneUsage(beforeDay: string): MaybePromise<number>;
  close(): MaybePromise<void>;
}

/** Calls with one key seen by other replicas within the key's transient-failure window. */
export interface PeerCounts {
  readonly ok: number;
  readonly failed: number;
}

/**
 * Other replicas' view of the keys (REDIS_URL): each replica publishes its keys' call outcomes, and reads back the
 * others' counts into a local view, refreshed in the background (src/store/redis-outcomes.ts). The pool never
 * waits for it: it reads the local view when it judges a key's transient-failure window (key-state.ts gets the
 * counts as input), and judges again when the view shows new failures.
 */

export interface PeerOutcomes {
  /** this replica's outcome of a call with this key (batched; never waits) */
  record(fingerprint: string, ok: boolean): void;
  /**
   * The other replicas' outcomes of this key within the transient window, counted only from `sinceMs` on (the key's
   * current status began then: older outcomes were judged already). Undefined when the view is not fresh.
   */
  counts(fingerprint: string, sinceMs: number): PeerCounts | undefined;
  /** called with the keys for which other replicas reported new failures */
  onFailures(listener: (fingerprints: readonly string[]) => void): () => void;
}

/**
 * The Responses API's state (stored responses, conversations) and which OnDemand session has seen which turn
 * (src/frontends/responses/stored-state.ts decides what goes in). Every record belongs to an owner, a hash of the
 * client key that made it (never the key): a read or delete with another owner finds nothing, exactly as for an
 * unknown id. Records expire `retention` after they were last written or read (0: never); JSON bodies are opaque.
 */
export interface StoredResponseRecord {
  id: string;
  owner: string;
  /** ms epoch */
  createdAt: number;
  /** JSON: the response object, its own input items and the session that answered it */
  body: string;
}

export interface ConversationRecord {
  id: string;
  owner: string;
  /** ms epoch */
  createdAt: number;
  /** JSON object of the conversation's metadata */
  metadata: string;
  /**
   * JSON of the OnDemand session that has seen every item of the conversation (set by the turn that appended
   * the last items, cleared by every other change), or null
   */
  session: string | null;
  /** counts every change to the items, so a turn knows whether someone else changed them meanwhile */
  version: number;
}

/** One conversation item: its id and its JSON. */
export interface StoredItem {
  id: string;
  json: string;
}

/** The items a turn appends, and the session to remember if nobody changed the conversation since `ifVersion`. */
export interface ConversationAppend {
  items: readonly StoredItem[];
  session?: { json: string; ifVersion: number } | undefined;
}

export interface StoredStateStats {
  responses: number;
  conversations: number;
  /** bytes of stored JSON (responses and conversation items) */
  bytes: number;
}

export interface ConversationStateStore {
  putResponse(record: StoredResponseRecord): MaybePromise<void>;
  /** the owner's responses among `ids`, in the order asked (missing ones left out); reading keeps them longer */
  getResponses(ids: readonly string[], owner: string): MaybePromise<StoredResponseRecord[]>;
  deleteResponse(id: string, owner: string): MaybePromise<boolean>;

  createConversation(record: ConversationRecord, items: readonly StoredItem[]): MaybePromise<void>;
  /** reading keeps the conversation and its items longer */
  getConversation(id: string, owner: string): MaybePromise<ConversationRecord | undefined>;
  setConversationMetadata(id: string, owner: string, metadata: string): MaybePromise<ConversationRecord | undefined>;
  deleteConversation(id: string, owner: string): MaybePromise<boolean>;
  /** the conversation's version after the append; undefined when there is no such conversation */
  appendItems(id: string, owner: string, append: ConversationAppend): MaybePromise<number | undefined>;
  /** every item in order; undefined when there is no such conversation */
  listItems(id: string, owner: string): MaybePromise<StoredItem[] | undefined>;
  /** false when the conversation or the item is not there */
  deleteItem(id: string, owner: string, itemId: string): MaybePromise<boolean>;

  /**
   * Which turn an OnDemand session saw last (its head). `claimSession` moves the head from `expected` to `next`
   * only if it is still `expected`, so one stored turn is continued in its session at most once.
   */
  setSessionHead(session: string, head: string): MaybePromise<void>;
  claimSession(session: string, expected: string, next: string): MaybePromise<boolean>;

  stats(): MaybePromise<StoredStateStats>;
  close(): MaybePromise<void>;
}
