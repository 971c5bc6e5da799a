/**
 * Where client keys added through the admin API live: a table in the gateway's SQLite file on one instance, a
 * Redis hash (with a change message on the gateway channel) when replicas share state. Only the key's sha256
 * is stored.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RedisConnection } from './redis-connection.js';
import { DATABASE_FILE } from './sqlite.js';
import type { MaybePromise, StoredClientKey } from './types.js';

export interface ClientKeyStore {
  list(): MaybePromise<StoredClientKey[]>;
  put(key: StoredClientKey): MaybePromise<void>;
  /** false when there was no such key */
  delete(name: string): MaybePromise<boolean>;
  /** another replica changed the keys (shared stores only); returns unsubscribe */
  subscribe?(onChange: () => void): () => void;
  close(): MaybePromise<void>;
}

interface Row {
  name: string;
  digest: string;
  models: string | null;
  rpm: number | null;
  tpd: number | null;
  created_at: number;
  plugins: string | null;
}

/** Its own connection to the gateway's SQLite file (WAL: the pool's connection is not disturbed). */
export class SqliteClientKeyStore implements ClientKeyStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, DATABASE_FILE));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS client_keys (
        name       TEXT PRIMARY KEY,
        digest     TEXT NOT NULL UNIQUE,  -- hex sha256 of the key; the key itself is never stored
        models     TEXT,                  -- JSON array or NULL (every model)
        rpm        INTEGER,
        tpd        INTEGER,
        created_at INTEGER NOT NULL
      )`);
    // added with plugins: a table from before gets the column (NULL: any plugin the gateway allows)
    const columns = this.db.prepare('PRAGMA table_info(client_keys)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'plugins')) this.db.exec('ALTER TABLE client_keys ADD COLUMN plugins TEXT');
  }

  list(): StoredClientKey[] {
    const rows = this.db.prepare('SELECT * FROM client_keys ORDER BY created_at, name').all() as Row[];
    return rows.map((r) => ({
      name: r.name,
      digest: r.digest,
      models: parseModels(r.models),
      rpm: r.rpm ?? undefined,
      tpd: r.tpd ?? undefined,
      plugins: parseModels(r.plugins),
      createdAt: r.created_at,
    }));
  }

  put(k: StoredClientKey): void {
    this.db
      .prepare(
        `INSERT INTO client_keys (name, digest, models, rpm, tpd, created_at, plugins) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET digest = excluded.digest, models = excluded.models, rpm = excluded.rpm, tpd = excluded.tpd, plugins = excluded.plugins`,
      )
      .run(
        k.name,
        k.digest,
        k.models === undefined ? null : JSON.stringify(k.models),
        k.rpm ?? null,
        k.tpd ?? null,
        k.createdAt ?? Date.now(),
        k.plugins === undefined ? null : JSON.stringify(k.plugins),
      );
  }

  delete(name: string): boolean {
    return this.db.prepare('DELETE FROM client_keys WHERE name = ?').run(name).changes > 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** `<prefix>clientkeys` hash: name -> JSON; a `{"t":"clientkeys"}` message tells the others to re-read. */
export class RedisClientKeyStore implements ClientKeyStore {
  private readonly hash: string;

  constructor(private readonly conn: RedisConnection) {
    this.hash = `${conn.prefix}clientkeys`;
  }

  async list(): Promise<StoredClientKey[]> {
    const all = await this.conn.client.hGetAll(this.hash);
    const out: StoredClientKey[] = [];
    for (const v of Object.values(all)) {
      const k = parseStored(v);
      if (k !== undefined) out.push(k);
    }
    return out.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
  }

  async put(k: StoredClientKey): Promise<void> {
    await this.conn.client.hSet(this.hash, k.name, JSON.stringify(k));
    await this.conn.publish({ t: 'clientkeys' });
  }

  async delete(name: string): Promise<boolean> {
    const n = await this.conn.client.hDel(this.hash, name);
    if (n > 0) await this.conn.publish({ t: 'clientkeys' });
    return n > 0;
  }

  subscribe(onChange: () => void): () => void {
    const offMessage = this.conn.onMessage((m) => {
      if ((m as { t?: unknown }).t === 'clientkeys') onChange();
    });
    // changes made while we were cut off arrive as nothing: read again when the link is back
    const offUp = this.conn.onUp((recovered) => {
      if (recovered) onChange();
    });
    return () => {
      offMessage();
      offUp();
    };
  }

  close(): void {}
}

/** A JSON array of strings (models, plugins), or undefined. */
function parseModels(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((m) => typeof m === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseStored(text: string): StoredClientKey | undefined {
  try {
    const v = JSON.parse(text) as Partial<StoredClientKey>;
    if (typeof v.name !== 'string' || typeof v.digest !== 'string') return undefined;
    return {
      name: v.name,
      digest: v.digest,
      models: Array.isArray(v.models) ? v.models.filter((m) => typeof m === 'string') : undefined,
      rpm: typeof v.rpm === 'number' ? v.rpm : undefined,
      tpd: typeof v.tpd === 'number' ? v.tpd : undefined,
      plugins: Array.isArray(v.plugins) ? v.plugins.filter((m) => typeof m === 'string') : undefined,
      createdAt: typeof v.createdAt === 'number' ? v.createdAt : undefined,
    };
  } catch {
    return undefined;
  }
}
