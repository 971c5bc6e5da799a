import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { clientKeyCreateSchema, clientKeysSchema } from '../client-keys/keys.js';
import { SqliteClientKeyStore } from './client-key-store.js';
import { DATABASE_FILE } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('client key plugin allow lists', () => {
  it('the schemas take ids, "web_search" and "*", and refuse anything else', () => {
    expect(clientKeysSchema.parse([{ name: 'a', key: 'sk-aaaaaaaa', plugins: ['web_search', 'plugin-1', '*'] }])[0]?.plugins).toEqual(['web_search', 'plugin-1', '*']);
    expect(clientKeyCreateSchema.parse({ name: 'b', plugins: [] }).plugins).toEqual([]);
    expect(clientKeyCreateSchema.safeParse({ name: 'c', plugins: ['rm -rf'] }).success).toBe(false);
  });

  it('SQLite keeps them, and a table from before plugins gains the column', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'odgw-ck-'));
    dirs.push(dir);
    const old = new Database(path.join(dir, DATABASE_FILE));
    old.exec('CREATE TABLE client_keys (name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, models TEXT, rpm INTEGER, tpd INTEGER, created_at INTEGER NOT NULL)');
    old.prepare('INSERT INTO client_keys VALUES (?, ?, NULL, NULL, NULL, 1)').run('before', 'd0');
    old.close();
    const store = new SqliteClientKeyStore(dir);
    store.put({ name: 'after', digest: 'd1', plugins: ['web_search'], createdAt: 2 });
    expect(store.list().map((k) => [k.name, k.plugins])).toEqual([
      ['before', undefined],
      ['after', ['web_search']],
    ]);
    store.close();
  });
});
