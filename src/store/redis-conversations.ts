/**
 * The shared ConversationStateStore: stored responses, conversations and session heads in Redis, so a conversation
 * started on one replica continues on any other. Every change is one Lua script (the owner check and the write
 * happen together); records expire by PEXPIRE, refreshed on each read and write.
 *
 *   <prefix>rs:<id>           hash    owner, created, body                 (a stored response)
 *   <prefix>cv:<id>           hash    owner, created, metadata, session, version
 *   <prefix>cv:<id>:items     hash    item id -> item JSON
 *   <prefix>cv:<id>:order     list    item ids in order
 *   <prefix>sh:<session>      string  the session's head (the last turn it saw)
 *   <prefix>st:rs, st:cv      zsets   "rs:<id>" / "cv:<id>" -> expiry (ms): counts for the metrics
 *   <prefix>st:bytes          hash    "rs:<id>" / "cv:<id>" -> bytes of JSON;  <prefix>st:total: their sum
 *
 * The st:* index is housekeeping: `stats()` drops the entries of expired records before it counts.
 * Redis unreachable: every call fails with a 503 (`stored_state_unavailable`); nothing is kept locally.
 */
import { type GatewayError, redisUnavailable } from '../core/errors.js';
import type { RedisConnection } from './redis-connection.js';
import type { ConversationAppend, ConversationRecord, ConversationStateStore, StoredItem, StoredResponseRecord, StoredStateStats } from './types.js';

/**
 * What the scripts share: the expiry refresh of the keys a script touched (ttl ms, 0: none) with their index entry,
 * and adding items (ARGV[from] is their count, then id, json pairs) to a conversation; returns their bytes.
 */
const TOUCH = `
local function touch(keys, ttl, index, score, member)
  if tonumber(ttl) > 0 then
    for _, k in ipairs(keys) do redis.call('PEXPIRE', k, ttl) end
  end
  redis.call('ZADD', index, score, member)
end
local function add_items(items, order, from)
  local bytes = 0
  for i = from + 1, from + 2 * tonumber(ARGV[from]), 2 do
    redis.call('HSET', items, ARGV[i], ARGV[i + 1])
    redis.call('RPUSH', order, ARGV[i])
    bytes = bytes + string.len(ARGV[i + 1])
  end
  return bytes
end
`;

const PUT_RESPONSE = `${TOUCH}
-- KEYS: rs, st:rs, st:bytes, st:total; ARGV: owner, created, body, ttl, score, member, bytes
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'created', ARGV[2], 'body', ARGV[3])
touch({KEYS[1]}, ARGV[4], KEYS[2], ARGV[5], ARGV[6])
local old = tonumber(redis.call('HGET', KEYS[3], ARGV[6]) or '0')
redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
redis.call('INCRBY', KEYS[4], tonumber(ARGV[7]) - old)
return 1
`;

const GET_RESPONSES = `${TOUCH}
-- KEYS: st:rs, rs...; ARGV: owner, ttl, score, ids... (one per rs key)
local out = {}
for i = 2, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'owner', 'created', 'body')
  if v[1] == ARGV[1] then
    local id = ARGV[i + 2]
    touch({KEYS[i]}, ARGV[2], KEYS[1], ARGV[3], 'rs:' .. id)
    table.insert(out, id)
    table.insert(out, v[2])
    table.insert(out, v[3])
  end
end
return out
`;

const DELETE_RECORD = `
-- KEYS: the record's keys..., index, st:bytes, st:total; ARGV: owner, member
local n = #KEYS
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
for i = 1, n - 3 do redis.call('DEL', KEYS[i]) end
redis.call('ZREM', KEYS[n - 2], ARGV[2])
local old = tonumber(redis.call('HGET', KEYS[n - 1], ARGV[2]) or '0')
redis.call('HDEL', KEYS[n - 1], ARGV[2])
redis.call('DECRBY', KEYS[n], old)
return 1
`;

const CREATE_CONVERSATION = `${TOUCH}
-- KEYS: cv, items, order, st:cv, st:bytes, st:total; ARGV: owner, created, metadata, ttl, score, member, n, (id, json)...
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'created', ARGV[2], 'metadata', ARGV[3], 'session', '', 'version', 0)
local bytes = add_items(KEYS[2], KEYS[3], 7)
touch({KEYS[1], KEYS[2], KEYS[3]}, ARGV[4], KEYS[4], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[5], ARGV[6], bytes)
redis.call('INCRBY', KEYS[6], bytes)
return 1
`;

const GET_CONVERSATION = `${TOUCH}
-- KEYS: cv, items, order, st:cv; ARGV: owner, ttl, score, member, metadata ('' keeps it)
local v = redis.call('HMGET', KEYS[1], 'owner', 'created', 'metadata', 'session', 'version')
if v[1] ~= ARGV[1] then return false end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'metadata', ARGV[5])
  v[3] = ARGV[5]
end
touch({KEYS[1], KEYS[2], KEYS[3]}, ARGV[2], KEYS[4], ARGV[3], ARGV[4])
return {v[2], v[3], v[4], v[5]}
`;

const APPEND_ITEMS = `${TOUCH}
-- KEYS: cv, items, order, st:cv, st:bytes, st:total; ARGV: owner, ttl, score, member, ifVersion, session, n, (id, json)...
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return -1 end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local bytes = add_items(KEYS[2], KEYS[3], 7)
local session = ''
if ARGV[6] ~= '' and tonumber(ARGV[5]) == version then session = ARGV[6] end
redis.call('HSET', KEYS[1], 'session', session, 'version', version + 1)
touch({KEYS[1], KEYS[2], KEYS[3]}, ARGV[2], KEYS[4], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[5], ARGV[4], bytes)
redis.call('INCRBY', KEYS[6], bytes)
return version + 1
`;

const LIST_ITEMS = `${TOUCH}
-- KEYS: cv, items, order, st:cv; ARGV: owner, ttl, score, member
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return false end
touch({KEYS[1], KEYS[2], KEYS[3]}, ARGV[2], KEYS[4], ARGV[3], ARGV[4])
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    table.insert(out, id)
    table.insert(out, json)
  end
end
return out
`;

const DELETE_ITEM = `${TOUCH}
-- KEYS: cv, items, order, st:cv, st:bytes, st:total; ARGV: owner, ttl, score, member, item id
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local len = redis.call('HSTRLEN', KEYS[2], ARGV[5])
if redis.call('HDEL', KEYS[2], ARGV[5]) == 0 then return 0 end
redis.call('LREM', KEYS[3], 1, ARGV[5])
redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'session', '')
touch({KEYS[1], KEYS[2], KEYS[3]}, ARGV[2], KEYS[4], ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[5], ARGV[4], -len)
redis.call('DECRBY', KEYS[6], len)
return 1
`;

const CLAIM_SESSION = `
-- KEYS: sh; ARGV: expected, next, ttl
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
`;

const STATS = `
-- KEYS: st:rs, st:cv, st:bytes, st:total; ARGV: now
for k = 1, 2 do
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000)) do
    local b = tonumber(redis.call('HGET', KEYS[3], m) or '0')
    redis.call('HDEL', KEYS[3], m)
    redis.call('DECRBY', KEYS[4], b)
    redis.call('ZREM', KEYS[k], m)
  end
end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), tonumber(redis.call('GET', KEYS[4]) or '0')}
`;

export interface RedisConversationStoreOptions {
  /** records expire this long after they were last written or read; 0 keeps them */
  retentionMs: number;
  now?: () => number;
}

export class RedisConversationStore implements ConversationStateStore {
  private readonly p: string;
  private readonly now: () => number;

  constructor(
    private readonly conn: RedisConnection,
    private readonly opts: RedisConversationStoreOptions,
  ) {
    this.p = conn.prefix;
    this.now = opts.now ?? Date.now;
  }

  private get ttl(): number {
    return this.opts.retentionMs;
  }

  /** the index score: when the record expires, or +inf */
  private score(): string {
    return this.ttl > 0 ? String(this.now() + this.ttl) : '+inf';
  }

  private index(): string[] {
    return [`${this.p}st:bytes`, `${this.p}st:total`];
  }

  private conversationKeys(id: string): [string, string, string] {
    const cv = `${this.p}cv:${id}`;
    return [cv, `${cv}:items`, `${cv}:order`];
  }

  private async run<T>(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    if (!this.conn.isUp()) throw unavailable();
    try {
      return await this.conn.eval<T>(script, keys, args);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async putResponse(r: StoredResponseRecord): Promise<void> {
    await this.run(
      PUT_RESPONSE,
      [`${this.p}rs:${r.id}`, `${this.p}st:rs`, ...this.index()],
      [r.owner, r.createdAt, r.body, this.ttl, this.score(), `rs:${r.id}`, Buffer.byteLength(r.body)],
    );
  }

  async getResponses(ids: readonly string[], owner: string): Promise<StoredResponseRecord[]> {
    if (ids.length === 0) return [];
    const flat = await this.run<string[]>(GET_RESPONSES, [`${this.p}st:rs`, ...ids.map((id) => `${this.p}rs:${id}`)], [owner, this.ttl, this.score(), ...ids]);
    const out: StoredResponseRecord[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) out.push({ id: String(flat[i]), owner, createdAt: Number(flat[i + 1]), body: String(flat[i + 2]) });
    return out;
  }

  async deleteResponse(id: string, owner: string): Promise<boolean> {
    return (await this.run<number>(DELETE_RECORD, [`${this.p}rs:${id}`, `${this.p}st:rs`, ...this.index()], [owner, `rs:${id}`])) === 1;
  }

  async createConversation(r: ConversationRecord, items: readonly StoredItem[]): Promise<void> {
    await this.run(
      CREATE_CONVERSATION,
      [...this.conversationKeys(r.id), `${this.p}st:cv`, ...this.index()],
      [r.owner, r.createdAt, r.metadata, this.ttl, this.score(), `cv:${r.id}`, items.length, ...items.flatMap((item) => [item.id, item.json])],
    );
  }

  getConversation(id: string, owner: string): Promise<ConversationRecord | undefined> {
    return this.readConversation(id, owner, '');
  }

  setConversationMetadata(id: string, owner: string, metadata: string): Promise<ConversationRecord | undefined> {
    return this.readConversation(id, owner, metadata);
  }

  private async readConversation(id: string, owner: string, metadata: string): Promise<ConversationRecord | undefined> {
    const v = await this.run<string[] | null>(GET_CONVERSATION, [...this.conversationKeys(id), `${this.p}st:cv`], [owner, this.ttl, this.score(), `cv:${id}`, metadata]);
    if (v === null) return undefined;
    const [created, meta, session, version] = v as (string | null | undefined)[];
    return {
      id,
      owner,
      createdAt: Number(created),
      metadata: meta ?? '{}',
      session: session === null || session === undefined || session === '' ? null : session,
      version: Number(version ?? 0),
    };
  }

  async deleteConversation(id: string, owner: string): Promise<boolean> {
    return (await this.run<number>(DELETE_RECORD, [...this.conversationKeys(id), `${this.p}st:cv`, ...this.index()], [owner, `cv:${id}`])) === 1;
  }

  async appendItems(id: string, owner: string, append: ConversationAppend): Promise<number | undefined> {
    const version = await this.run<number>(
      APPEND_ITEMS,
      [...this.conversationKeys(id), `${this.p}st:cv`, ...this.index()],
      [
        owner,
        this.ttl,
        this.score(),
        `cv:${id}`,
        append.session?.ifVersion ?? -1,
        append.session?.json ?? '',
        append.items.length,
        ...append.items.flatMap((item) => [item.id, item.json]),
      ],
    );
    return version < 0 ? undefined : version;
  }

  async listItems(id: string, owner: string): Promise<StoredItem[] | undefined> {
    const flat = await this.run<string[] | null>(LIST_ITEMS, [...this.conversationKeys(id), `${this.p}st:cv`], [owner, this.ttl, this.score(), `cv:${id}`]);
    if (flat === null) return undefined;
    const out: StoredItem[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: String(flat[i]), json: String(flat[i + 1]) });
    return out;
  }

  async deleteItem(id: string, owner: string, itemId: string): Promise<boolean> {
    return (await this.run<number>(DELETE_ITEM, [...this.conversationKeys(id), `${this.p}st:cv`, ...this.index()], [owner, this.ttl, this.score(), `cv:${id}`, itemId])) === 1;
  }

  async setSessionHead(session: string, head: string): Promise<void> {
    if (!this.conn.isUp()) throw unavailable();
    try {
      const key = `${this.p}sh:${session}`;
      await (this.ttl > 0 ? this.conn.client.set(key, head, { PX: this.ttl }) : this.conn.client.set(key, head));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async claimSession(session: string, expected: string, next: string): Promise<boolean> {
    return (await this.run<number>(CLAIM_SESSION, [`${this.p}sh:${session}`], [expected, next, this.ttl])) === 1;
  }

  async stats(): Promise<StoredStateStats> {
    const [responses, conversations, bytes] = await this.run<number[]>(STATS, [`${this.p}st:rs`, `${this.p}st:cv`, ...this.index()], [this.now()]);
    return { responses: Number(responses ?? 0), conversations: Number(conversations ?? 0), bytes: Number(bytes ?? 0) };
  }

  /** The connection belongs to src/wiring/state.ts. */
  close(): void {}
}

const unavailable = (cause?: unknown): GatewayError => redisUnavailable('Stored responses and conversations are', 'stored_state_unavailable', cause);
