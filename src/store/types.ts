/**
 * Where key state survives restarts (and, with a shared store, is seen by every replica). The pool is the only
 * caller; it never writes on the request path: it batches dirty keys and flushes on a timer and at shutdown.
 *
 * Methods may answer synchronously (SQLite) or with a promise (Redis): the pool awaits either.
 */
import type { KeySource } from '../keypool/types.js';

export type MaybePromise<T> = T | Promise<T>;

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
