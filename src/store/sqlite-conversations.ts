/**
 * The single-instance ConversationStateStore: stored responses, conversations with their items, and session heads
 * in the SQLite file of the key state (sqlite.ts), through a connection of its own. Expired rows are invisible at
 * once and deleted by a prune every few minutes. `:memory:` keeps everything for the life of the process.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { resolveDataDir } from './data-dir.js';
import { DATABASE_FILE, openDatabase } from './sqlite.js';
import type { ConversationAppend, ConversationRecord, ConversationStateStore, StoredItem, StoredResponseRecord, StoredStateStats } from './types.js';

export interface StoredStateOptions {
  /** records expire this long after they were last written or read; 0 keeps them */
  retentionMs: number;
  /** ms epoch; injected by tests */
  now?: () => number;
}

const PRUNE_EVERY_MS = 5 * 60_000;
/** expires_at of a record that never expires */
const NEVER = Number.MAX_SAFE_INTEGER;

interface ResponseRow {
  id: string;
  owner: string;
  created_at: number;
  body: string;
}

interface ConversationRow {
  id: string;
  owner: string;
  created_at: number;
  metadata: string;
  session: string | null;
  version: number;
}

export class SqliteConversationStore implements ConversationStateStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly timer: NodeJS.Timeout;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly createTx: (record: ConversationRecord, items: readonly StoredItem[], expires: number) => void;
  private readonly appendTx: (id: string, owner: string, append: ConversationAppend, expires: number) => number | undefined;
  private readonly deleteItemTx: (id: string, owner: string, itemId: string, expires: number) => boolean;
  private readonly deleteConversationTx: (id: string, owner: string) => boolean;

  /** `<dataDir>/gateway.sqlite`, the key store's file. */
  static open(configuredDataDir: string | undefined, opts: StoredStateOptions): SqliteConversationStore {
    return new SqliteConversationStore(path.join(resolveDataDir(configuredDataDir), DATABASE_FILE), opts);
  }

  constructor(
    readonly file: string,
    opts: StoredStateOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.retentionMs = opts.retentionMs;
    this.db = openDatabase(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS stored_responses (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,     -- a hash of the client key, never the key
        created_at INTEGER NOT NULL,  -- ms epoch
        expires_at INTEGER NOT NULL,  -- ms epoch
        body       TEXT NOT NULL,
        bytes      INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS stored_responses_expiry ON stored_responses (expires_at);
      CREATE TABLE IF NOT EXISTS conversations (
        id         TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        metadata   TEXT NOT NULL,
        session    TEXT,
        version    INTEGER NOT NULL DEFAULT 0,
        next_seq   INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS conversations_expiry ON conversations (expires_at);
      CREATE TABLE IF NOT EXISTS conversation_items (
        conversation_id TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        item_id         TEXT NOT NULL,
        body            TEXT NOT NULL,
        bytes           INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS conversation_items_id ON conversation_items (conversation_id, item_id);
      CREATE TABLE IF NOT EXISTS session_heads (
        session    TEXT PRIMARY KEY,
        head       TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;`);
    this.stmt = prepare(this.db);
    const s = this.stmt;
    this.createTx = this.db.transaction((r: ConversationRecord, items: readonly StoredItem[], expires: number) => {
      s.insertConversation.run(r.id, r.owner, r.createdAt, expires, r.metadata, r.session, r.version, items.length);
      items.forEach((item, seq) => s.insertItem.run(r.id, seq, item.id, item.json, Buffer.byteLength(item.json)));
    });
    this.appendTx = this.db.transaction((id: string, owner: string, append: ConversationAppend, expires: number) => {
      const row = s.conversationForUpdate.get(id, owner, this.now());
      if (row === undefined) return undefined;
      let seq = row.next_seq;
      for (const item of append.items) s.insertItem.run(id, seq++, item.id, item.json, Buffer.byteLength(item.json));
      const session = append.session !== undefined && append.session.ifVersion === row.version ? append.session.json : null;
      const version = row.version + 1;
      s.updateAfterAppend.run(session, version, seq, expires, id);
      return version;
    });
    this.deleteItemTx = this.db.transaction((id: string, owner: string, itemId: string, expires: number) => {
      const row = s.conversationForUpdate.get(id, owner, this.now());
      if (row === undefined) return false;
      if (s.deleteItem.run(id, itemId).changes === 0) return false;
      s.updateAfterChange.run(row.version + 1, expires, id);
      return true;
    });
    this.deleteConversationTx = this.db.transaction((id: string, owner: string) => {
      if (s.deleteConversation.run(id, owner).changes === 0) return false;
      s.deleteItems.run(id);
      return true;
    });
    this.prune();
    this.timer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  private expiresAt(): number {
    return this.retentionMs > 0 ? this.now() + this.retentionMs : NEVER;
  }

  putResponse(r: StoredResponseRecord): void {
    this.stmt.insertResponse.run(r.id, r.owner, r.createdAt, this.expiresAt(), r.body, Buffer.byteLength(r.body));
  }

  getResponses(ids: readonly string[], owner: string): StoredResponseRecord[] {
    const now = this.now();
    const expires = this.expiresAt();
    const out: StoredResponseRecord[] = [];
    for (const id of ids) {
      const row = this.stmt.selectResponse.get(id, owner, now);
      if (row === undefined) continue;
      if (this.retentionMs > 0) this.stmt.touchResponse.run(expires, id);
      out.push({ id: row.id, owner: row.owner, createdAt: row.created_at, body: row.body });
    }
    return out;
  }

  deleteResponse(id: string, owner: string): boolean {
    return this.stmt.deleteResponse.run(id, owner, this.now()).changes > 0;
  }

  createConversation(record: ConversationRecord, items: readonly StoredItem[]): void {
    this.createTx(record, items, this.expiresAt());
  }

  getConversation(id: string, owner: string): ConversationRecord | undefined {
    const row = this.stmt.selectConversation.get(id, owner, this.now());
    if (row === undefined) return undefined;
    if (this.retentionMs > 0) this.stmt.touchConversation.run(this.expiresAt(), id);
    return toConversation(row);
  }

  setConversationMetadata(id: string, owner: string, metadata: string): ConversationRecord | undefined {
    if (this.stmt.updateMetadata.run(metadata, this.expiresAt(), id, owner, this.now()).changes === 0) return undefined;
    return this.getConversation(id, owner);
  }

  deleteConversation(id: string, owner: string): boolean {
    return this.deleteConversationTx(id, owner);
  }

  appendItems(id: string, owner: string, append: ConversationAppend): number | undefined {
    return this.appendTx(id, owner, append, this.expiresAt());
  }

  listItems(id: string, owner: string): StoredItem[] | undefined {
    if (this.stmt.selectConversation.get(id, owner, this.now()) === undefined) return undefined;
    return this.stmt.selectItems.all(id).map((r) => ({ id: r.item_id, json: r.body }));
  }

  deleteItem(id: string, owner: string, itemId: string): boolean {
    return this.deleteItemTx(id, owner, itemId, this.expiresAt());
  }

  setSessionHead(session: string, head: string): void {
    this.stmt.upsertHead.run(session, head, this.expiresAt());
  }

  claimSession(session: string, expected: string, next: string): boolean {
    return this.stmt.claimHead.run(next, this.expiresAt(), session, expected, this.now()).changes > 0;
  }

  stats(): StoredStateStats {
    const now = this.now();
    const r = this.stmt.responseStats.get(now) ?? { n: 0, bytes: 0 };
    const conversations = this.stmt.conversationCount.get(now)?.n ?? 0;
    const itemBytes = this.stmt.itemBytes.get(now)?.bytes ?? 0;
    return { responses: r.n, conversations, bytes: r.bytes + itemBytes };
  }

  /** Deletes what expired; returns how many records went. */
  prune(): number {
    if (!this.db.open) return 0;
    const now = this.now();
    let n = this.stmt.pruneResponses.run(now).changes;
    this.stmt.pruneItems.run(now);
    n += this.stmt.pruneConversations.run(now).changes;
    this.stmt.pruneHeads.run(now);
    return n;
  }

  close(): void {
    clearInterval(this.timer);
    if (this.db.open) this.db.close();
  }
}

function toConversation(row: ConversationRow): ConversationRecord {
  return { id: row.id, owner: row.owner, createdAt: row.created_at, metadata: row.metadata, session: row.session, version: row.version };
}

function prepare(db: Database.Database) {
  return {
    insertResponse: db.prepare<[string, string, number, number, string, number]>(
      'INSERT OR REPLACE INTO stored_responses (id, owner, created_at, expires_at, body, bytes) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    selectResponse: db.prepare<[string, string, number], ResponseRow>('SELECT id, owner, created_at, body FROM stored_responses WHERE id = ? AND owner = ? AND expires_at > ?'),
    touchResponse: db.prepare<[number, string]>('UPDATE stored_responses SET expires_at = ? WHERE id = ?'),
    deleteResponse: db.prepare<[string, string, number]>('DELETE FROM stored_responses WHERE id = ? AND owner = ? AND expires_at > ?'),
    insertConversation: db.prepare<[string, string, number, number, string, string | null, number, number]>(
      'INSERT INTO conversations (id, owner, created_at, expires_at, metadata, session, version, next_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertItem: db.prepare<[string, number, string, string, number]>('INSERT INTO conversation_items (conversation_id, seq, item_id, body, bytes) VALUES (?, ?, ?, ?, ?)'),
    selectConversation: db.prepare<[string, string, number], ConversationRow>(
      'SELECT id, owner, created_at, metadata, session, version FROM conversations WHERE id = ? AND owner = ? AND expires_at > ?',
    ),
    conversationForUpdate: db.prepare<[string, string, number], { version: number; next_seq: number }>(
      'SELECT version, next_seq FROM conversations WHERE id = ? AND owner = ? AND expires_at > ?',
    ),
    touchConversation: db.prepare<[number, string]>('UPDATE conversations SET expires_at = ? WHERE id = ?'),
    updateMetadata: db.prepare<[string, number, string, string, number]>('UPDATE conversations SET metadata = ?, expires_at = ? WHERE id = ? AND owner = ? AND expires_at > ?'),
    updateAfterAppend: db.prepare<[string | null, number, number, number, string]>('UPDATE conversations SET session = ?, version = ?, next_seq = ?, expires_at = ? WHERE id = ?'),
    updateAfterChange: db.prepare<[number, number, string]>('UPDATE conversations SET session = NULL, version = ?, expires_at = ? WHERE id = ?'),
    deleteConversation: db.prepare<[string, string]>('DELETE FROM conversations WHERE id = ? AND owner = ?'),
    deleteItems: db.prepare<[string]>('DELETE FROM conversation_items WHERE conversation_id = ?'),
    selectItems: db.prepare<[string], { item_id: string; body: string }>('SELECT item_id, body FROM conversation_items WHERE conversation_id = ? ORDER BY seq'),
    deleteItem: db.prepare<[string, string]>('DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?'),
    upsertHead: db.prepare<[string, string, number]>(
      'INSERT INTO session_heads (session, head, expires_at) VALUES (?, ?, ?) ON CONFLICT (session) DO UPDATE SET head = excluded.head, expires_at = excluded.expires_at',
    ),
    claimHead: db.prepare<[string, number, string, string, number]>('UPDATE session_heads SET head = ?, expires_at = ? WHERE session = ? AND head = ? AND expires_at > ?'),
    responseStats: db.prepare<[number], { n: number; bytes: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM stored_responses WHERE expires_at > ?'),
    conversationCount: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM conversations WHERE expires_at > ?'),
    itemBytes: db.prepare<[number], { bytes: number }>(
      'SELECT COALESCE(SUM(i.bytes), 0) AS bytes FROM conversation_items i JOIN conversations c ON c.id = i.conversation_id WHERE c.expires_at > ?',
    ),
    pruneResponses: db.prepare<[number]>('DELETE FROM stored_responses WHERE expires_at <= ?'),
    pruneItems: db.prepare<[number]>('DELETE FROM conversation_items WHERE conversation_id IN (SELECT id FROM conversations WHERE expires_at <= ?)'),
    pruneConversations: db.prepare<[number]>('DELETE FROM conversations WHERE expires_at <= ?'),
    pruneHeads: db.prepare<[number]>('DELETE FROM session_heads WHERE expires_at <= ?'),
  };
}
