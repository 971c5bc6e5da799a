/**
 * The single-instance StateStore: one SQLite file in the data directory (data-dir.ts), WAL so that a flush never
 * blocks a reader. Writes come in batches from the pool's flush timer, one transaction each.
 */
import { chmodSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { resolveDataDir } from './data-dir.js';
import type { KeyRecord, KeySource, StateStore } from './types.js';

export const DATABASE_FILE = 'gateway.sqlite';

const SCHEMA_VERSION = 1;

interface KeyRow {
  fingerprint: string;
  api_key: string | null;
  source: string;
  weight: number;
  label: string | null;
  state: string;
  updated_at: number;
}

const SOURCES: ReadonlySet<string> = new Set<KeySource>(['env', 'file', 'admin']);

export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement<[KeyRow]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly selectAll: Database.Statement<[], KeyRow>;
  private readonly saveBatch: (records: KeyRecord[]) => void;
  private walRestricted = false;

  /** Opens (or creates) `<dataDir>/gateway.sqlite`. */
  static open(dataDir: string): SqliteStateStore {
    return new SqliteStateStore(path.join(dataDir, DATABASE_FILE));
  }

  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    restrictToOwner(file);
    this.upsert = this.db.prepare(`
      INSERT INTO keys (fingerprint, api_key, source, weight, label, state, updated_at)
      VALUES (@fingerprint, @api_key, @source, @weight, @label, @state, @updated_at)
      ON CONFLICT (fingerprint) DO UPDATE SET
        api_key = excluded.api_key, source = excluded.source, weight = excluded.weight,
        label = excluded.label, state = excluded.state, updated_at = excluded.updated_at`);
    this.remove = this.db.prepare('DELETE FROM keys WHERE fingerprint = ?');
    this.selectAll = this.db.prepare('SELECT * FROM keys ORDER BY rowid');
    this.saveBatch = this.db.transaction((records: KeyRecord[]) => {
      for (const r of records) {
        this.upsert.run({
          fingerprint: r.fingerprint,
          api_key: r.key,
          source: r.source,
          weight: r.weight,
          label: r.label ?? null,
          state: JSON.stringify(r.state ?? null),
          updated_at: Math.round(r.updatedAt),
        });
      }
    });
  }

  loadKeys(): KeyRecord[] {
    const records: KeyRecord[] = [];
    for (const row of this.selectAll.all()) {
      if (!SOURCES.has(row.source)) continue;
      records.push({
        fingerprint: row.fingerprint,
        key: row.api_key,
        source: row.source as KeySource,
        weight: row.weight,
        ...(row.label === null ? {} : { label: row.label }),
        state: parseJson(row.state),
        updatedAt: row.updated_at,
      });
    }
    return records;
  }

  saveKeys(records: KeyRecord[]): void {
    this.saveBatch(records);
    if (!this.walRestricted) {
      // SQLite creates the WAL files on the first write, with the process umask.
      restrictToOwner(this.file);
      this.walRestricted = true;
    }
  }

  deleteKey(fingerprint: string): void {
    this.remove.run(fingerprint);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version >= SCHEMA_VERSION) return;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS keys (
        fingerprint TEXT PRIMARY KEY,
        api_key     TEXT,             -- the raw upstream key, admin-added keys only: this file holds secrets
        source      TEXT NOT NULL,
        weight      REAL NOT NULL DEFAULT 1,
        label       TEXT,
        state       TEXT NOT NULL,    -- the pool's KeyState as JSON
        updated_at  INTEGER NOT NULL  -- ms epoch
      );
      PRAGMA user_version = ${SCHEMA_VERSION};`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The database and its WAL files hold upstream keys: nobody but the gateway's user should read them. */
function restrictToOwner(file: string): void {
  if (file === ':memory:' || file === '') return;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      // the WAL files may not exist yet, or the filesystem ignores modes (some mounted volumes)
    }
  }
}

export { resolveDataDir };

/**
 * A connection of its own to the gateway's SQLite file (or `:memory:`), as the usage and stored-state tables open
 * it: WAL so that writers never block readers, and a busy timeout for the other connections' transactions.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  if (file !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('busy_timeout = 5000');
  return db;
}

/** The usual way in: `openStateStore(config.DATA_DIR)` → `<data dir>/gateway.sqlite`. */
export function openStateStore(configuredDataDir?: string): SqliteStateStore {
  return SqliteStateStore.open(resolveDataDir(configuredDataDir));
}
