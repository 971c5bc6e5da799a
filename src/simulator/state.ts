/**
 * What the simulator remembers: sessions with their messages and media, uploaded media, stats, the behaviors
 * set on keys and the options in force. No I/O; the route handlers read and change it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { BehaviorStore, type CallKind } from './behaviors.js';
import { toRuntime, type RuntimeOptions } from './options.js';
import type { KeyStats, MutableOptions, SimStats, TraceparentRecord, UploadRecord } from './types.js';

/**
 * Sessions are forgotten by age, oldest first, once there are more than SESSIONS_KEPT and only those older than
 * SESSION_MIN_AGE_MS (a benchmark creates hundreds of thousands; a pooled one created early must still work);
 * MAX_SESSIONS bounds memory whatever their age.
 */
const SESSIONS_KEPT = 50_000;
const SESSION_MIN_AGE_MS = 30 * 60_000;
const MAX_SESSIONS = 1_000_000;
const MAX_MEDIA = 10_000;
const MAX_QUERY_BODIES = 100;
const MAX_UPLOAD_RECORDS = 100;
const MAX_TRACEPARENTS = 100;

export interface MessageRec {
  id: string;
  sessionId: string;
  query: string;
  answer: string;
  endpointId: string;
  status: 'processing' | 'completed' | 'failed';
  createdAt: string;
}

export interface MediaRec {
  id: string;
  name: string;
  url: string;
  sourceUrl: string | null;
  extractedTextUrl: string;
  context: string;
  mimeType: string;
  sizeBytes: number | null;
  sessionId: string | null;
  createdAt: string;
}

export interface SessionRec {
  id: string;
  companyId: string;
  externalUserId: string;
  pluginIds: string[];
  createdAt: string;
  /** performance.now() at creation, for forgetting by age */
  bornMs: number;
  ownerKey: string;
  messages: MessageRec[];
  media: MediaRec[];
}

/** A new id of 24 hex digits, the shape of OnDemand's ids. */
export const newRecordId = (): string => randomBytes(12).toString('hex');

export class SessionStore {
  private readonly byId = new Map<string, SessionRec>();
  private readonly companyIds = new Map<string, string>();

  get(id: string): SessionRec | undefined {
    return this.byId.get(id);
  }

  add(s: SessionRec): void {
    this.byId.set(s.id, s);
    this.forgetOld();
  }

  /** Sessions of one company, oldest first. */
  ofCompany(companyId: string): SessionRec[] {
    return [...this.byId.values()].filter((s) => s.companyId === companyId);
  }

  /** Forget every session; returns how many there were. */
  clear(): number {
    const n = this.byId.size;
    this.byId.clear();
    return n;
  }

  /** The company a key belongs to: stable per key, like the real API's. */
  companyId(key: string): string {
    let id = this.companyIds.get(key);
    if (!id) {
      id = createHash('sha256').update(key).digest('hex').slice(0, 24);
      this.companyIds.set(key, id);
    }
    return id;
  }

  /** Past SESSIONS_KEPT, forget the oldest sessions that are old enough; past MAX_SESSIONS, the oldest whatever their age. */
  private forgetOld(): void {
    if (this.byId.size <= SESSIONS_KEPT) return;
    const now = performance.now();
    for (const [id, s] of this.byId) {
      if (this.byId.size <= SESSIONS_KEPT) return;
      if (this.byId.size <= MAX_SESSIONS && now - s.bornMs < SESSION_MIN_AGE_MS) return;
      this.byId.delete(id);
    }
  }
}

/** Uploaded media by id; past MAX_MEDIA the oldest is forgotten. */
export class MediaStore {
  private readonly byId = new Map<string, MediaRec>();

  get(id: string): MediaRec | undefined {
    return this.byId.get(id);
  }

  add(rec: MediaRec): void {
    this.byId.set(rec.id, rec);
    if (this.byId.size > MAX_MEDIA) this.byId.delete(this.byId.keys().next().value!);
  }
}

function emptyStats(): SimStats {
  return {
    sessionsCreated: 0,
    queries: 0,
    byKey: {},
    lastQuery: undefined,
    lastQueryHeaders: [],
    lastQuerySessionId: undefined,
    queryBodies: [],
    openStreams: 0,
    abortedStreams: 0,
    sessionsReused: 0,
    crossKeyQueries: 0,
    mediaUploads: 0,
    uploads: [],
    traceparents: [],
  };
}

export class SimState {
  /** the simulator's origin once it listens; media links point back at it */
  url = '';
  /** replaced on reset: read it through the state, never keep it */
  stats: SimStats = emptyStats();
  opts: RuntimeOptions;
  readonly behaviors = new BehaviorStore();
  readonly sessions = new SessionStore();
  readonly media = new MediaStore();

  /** `keys`: the accepted apikeys; empty accepts any non-empty key */
  constructor(
    readonly keys: ReadonlySet<string>,
    private readonly initial: RuntimeOptions,
  ) {
    this.opts = { ...initial };
  }

  keyStats(key: string): KeyStats {
    let ks = this.stats.byKey[key];
    if (!ks) {
      ks = { sessions: 0, queries: 0, failures: 0 };
      this.stats.byKey[key] = ks;
    }
    return ks;
  }

  /** Count a call a key makes; returns the key's stats. */
  countCall(key: string, call: CallKind | undefined): KeyStats {
    const ks = this.keyStats(key);
    if (call === 'session') ks.sessions++;
    if (call === 'query') {
      ks.queries++;
      this.stats.queries++;
    }
    return ks;
  }

  /** Keep a query body, the names of its request headers and its session, the last MAX_QUERY_BODIES bodies. */
  recordQuery(body: unknown, headerNames: string[], sessionId: string): void {
    this.stats.lastQuery = body;
    this.stats.lastQuerySessionId = sessionId;
    this.stats.lastQueryHeaders = headerNames;
    this.stats.queryBodies.push(body);
    if (this.stats.queryBodies.length > MAX_QUERY_BODIES) this.stats.queryBodies.shift();
  }

  /** Keep the W3C traceparent a call carried, the last MAX_TRACEPARENTS of them. */
  recordTraceparent(record: TraceparentRecord): void {
    this.stats.traceparents.push(record);
    if (this.stats.traceparents.length > MAX_TRACEPARENTS) this.stats.traceparents.shift();
  }

  /** Count an accepted upload and keep what it asked for, the last MAX_UPLOAD_RECORDS of them. */
  recordUpload(upload: UploadRecord): void {
    this.stats.mediaUploads++;
    this.stats.uploads.push(upload);
    if (this.stats.uploads.length > MAX_UPLOAD_RECORDS) this.stats.uploads.shift();
  }

  /** A copy of the stats that later calls do not change. */
  snapshot(): SimStats {
    const byKey: Record<string, KeyStats> = {};
    for (const [k, v] of Object.entries(this.stats.byKey)) byKey[k] = { ...v };
    return {
      ...this.stats,
      byKey,
      queryBodies: [...this.stats.queryBodies],
      lastQueryHeaders: [...this.stats.lastQueryHeaders],
      uploads: this.stats.uploads.map((u) => ({ ...u, plugins: [...u.plugins] })),
      traceparents: this.stats.traceparents.map((t) => ({ ...t })),
    };
  }

  setOptions(partial: MutableOptions): void {
    this.opts = toRuntime(partial, this.opts);
  }

  /** Behaviors to ok, stats to zero, options restored; sessions and media are kept. */
  reset(): void {
    this.behaviors.clear();
    const open = this.stats.openStreams;
    this.stats = emptyStats();
    this.stats.openStreams = open; // streams still running will decrement it
    this.opts = { ...this.initial };
  }
}
