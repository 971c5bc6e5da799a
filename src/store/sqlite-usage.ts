/**
 * The single-instance UsageStore: a `usage_daily` table in the same SQLite file as the key state (sqlite.ts),
 * through a connection of its own (WAL lets both write without blocking readers). Increments arrive in batches
 * from the usage recorder's flush timer, one transaction each.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { resolveDataDir } from './data-dir.js';
import { DATABASE_FILE, openDatabase } from './sqlite.js';
import type { UsageRow, UsageStore } from './types.js';

interface Row {
  day: string;
  model: string;
  client: string;
  upstream_key: string;
  requests: number;
  tokens_in: number;
  tokens_out: number;
  errors: number;
}

export class SqliteUsageStore implements UsageStore {
  private readonly db: Database.Database;
  private readonly add: Database.Statement<[Row]>;
  private readonly since: Database.Statement<[string], Row>;
  private readonly prune: Database.Statement<[string]>;
  private readonly addBatch: (rows: UsageRow[]) => void;

  /** `:memory:` for a store that lives as long as the process (tests). */
  constructor(readonly file: string) {
    this.db = openDatabase(file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS usage_daily (
        day          TEXT NOT NULL,     -- UTC, YYYY-MM-DD
        model        TEXT NOT NULL,
        client       TEXT NOT NULL,     -- client key fingerprint "c:…", never the key
        upstream_key TEXT NOT NULL,     -- upstream key fingerprint "k:…", never the key
        requests     INTEGER NOT NULL DEFAULT 0,
        tokens_in    INTEGER NOT NULL DEFAULT 0,
        tokens_out   INTEGER NOT NULL DEFAULT 0,
        errors       INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, model, client, upstream_key)
      ) WITHOUT ROWID;`);
    this.add = this.db.prepare(`
      INSERT INTO usage_daily (day, model, client, upstream_key, requests, tokens_in, tokens_out, errors)
      VALUES (@day, @model, @client, @upstream_key, @requests, @tokens_in, @tokens_out, @errors)
      ON CONFLICT (day, model, client, upstream_key) DO UPDATE SET
        requests = requests + excluded.requests, tokens_in = tokens_in + excluded.tokens_in,
        tokens_out = tokens_out + excluded.tokens_out, errors = errors + excluded.errors`);
    this.since = this.db.prepare('SELECT * FROM usage_daily WHERE day >= ? ORDER BY day, model, client, upstream_key');
    this.prune = this.db.prepare('DELETE FROM usage_daily WHERE day < ?');
    this.addBatch = this.db.transaction((rows: UsageRow[]) => {
      for (const r of rows) {
        this.add.run({
          day: r.day,
          model: r.model,
          client: r.client,
          upstream_key: r.upstreamKey,
          requests: r.requests,
          tokens_in: r.tokensIn,
          tokens_out: r.tokensOut,
          errors: r.errors,
        });
      }
    });
  }

  /** `<dataDir>/gateway.sqlite`, the key store's file. */
  static open(configuredDataDir?: string): SqliteUsageStore {
    return new SqliteUsageStore(path.join(resolveDataDir(configuredDataDir), DATABASE_FILE));
  }

  addUsage(rows: UsageRow[]): void {
    if (rows.length > 0) this.addBatch(rows);
  }

  loadUsage(sinceDay: string): UsageRow[] {
    return this.since.all(sinceDay).map((r) => ({
      day: r.day,
      model: r.model,
      client: r.client,
      upstreamKey: r.upstream_key,
      requests: r.requests,
      tokensIn: r.tokens_in,
      tokensOut: r.tokens_out,
      errors: r.errors,
    }));
  }

  pruneUsage(beforeDay: string): number {
    return this.prune.run(beforeDay).changes;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
