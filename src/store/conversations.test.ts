/**
 * The ConversationStateStore contract, run against both adapters: SQLite (in memory) and Redis (a real
 * redis-server, test/redis-helper.ts). Same cases, same answers: owners never see each other's records, expiry
 * hides a record and reading it postpones that, a turn remembers its session only when nobody changed the items
 * meanwhile, and a session's head is claimed once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/redis-helper.js';
import { describeNeeding, REDIS } from '../../test/requirements.js';
import { RedisConnection } from './redis-connection.js';
import { RedisConversationStore } from './redis-conversations.js';
import { SqliteConversationStore } from './sqlite-conversations.js';
import type { ConversationRecord, ConversationStateStore, StoredItem } from './types.js';

const HOUR = 3_600_000;

/** a store with a clock the test moves */
interface Subject {
  store: ConversationStateStore;
  advance(ms: number): Promise<void>;
}

const conversation = (id: string, owner = 'o:alice'): ConversationRecord => ({ id, owner, createdAt: 1000, metadata: '{"topic":"x"}', session: null, version: 0 });
const item = (id: string, text = id): StoredItem => ({ id, json: JSON.stringify({ id, type: 'message', role: 'user', content: [{ type: 'input_text', text }] }) });

function contract(make: (retentionMs: number) => Promise<Subject>): void {
  it('keeps a response for its owner only; delete removes it for good', async () => {
    const { store } = await make(HOUR);
    await store.putResponse({ id: 'resp_1', owner: 'o:alice', createdAt: 5, body: '{"a":1}' });
    expect(await store.getResponses(['resp_1'], 'o:alice')).toEqual([{ id: 'resp_1', owner: 'o:alice', createdAt: 5, body: '{"a":1}' }]);
    expect(await store.getResponses(['resp_1'], 'o:bob')).toEqual([]);
    expect(await store.deleteResponse('resp_1', 'o:bob')).toBe(false);
    expect(await store.deleteResponse('resp_1', 'o:alice')).toBe(true);
    expect(await store.getResponses(['resp_1'], 'o:alice')).toEqual([]);
    expect(await store.deleteResponse('resp_1', 'o:alice')).toBe(false);
  });

  it('returns several responses in the order asked, leaving out missing ones', async () => {
    const { store } = await make(HOUR);
    for (const id of ['resp_a', 'resp_b', 'resp_c']) await store.putResponse({ id, owner: 'o:alice', createdAt: 1, body: `"${id}"` });
    const got = await store.getResponses(['resp_c', 'resp_missing', 'resp_a'], 'o:alice');
    expect(got.map((r) => r.id)).toEqual(['resp_c', 'resp_a']);
  });

  it('expires a record after the retention, counted from its last read', async () => {
    const s = await make(HOUR);
    await s.store.putResponse({ id: 'resp_old', owner: 'o:alice', createdAt: 1, body: '{}' });
    await s.store.putResponse({ id: 'resp_read', owner: 'o:alice', createdAt: 1, body: '{}' });
    await s.advance(HOUR / 2);
    expect(await s.store.getResponses(['resp_read'], 'o:alice')).toHaveLength(1);
    await s.advance(HOUR / 2 + HOUR / 10);
    expect(await s.store.getResponses(['resp_old'], 'o:alice')).toEqual([]);
    expect(await s.store.getResponses(['resp_read'], 'o:alice')).toHaveLength(1);
    expect((await s.store.stats()).responses).toBe(1);
  });

  it('creates a conversation with items, appends, lists in order, deletes an item', async () => {
    const { store } = await make(HOUR);
    await store.createConversation(conversation('conv_1'), [item('msg_1')]);
    expect(await store.appendItems('conv_1', 'o:alice', { items: [item('msg_2'), item('msg_3')] })).toBe(1);
    expect((await store.listItems('conv_1', 'o:alice'))?.map((i) => i.id)).toEqual(['msg_1', 'msg_2', 'msg_3']);
    expect(await store.deleteItem('conv_1', 'o:alice', 'msg_2')).toBe(true);
    expect(await store.deleteItem('conv_1', 'o:alice', 'msg_2')).toBe(false);
    expect((await store.listItems('conv_1', 'o:alice'))?.map((i) => i.id)).toEqual(['msg_1', 'msg_3']);
    expect((await store.getConversation('conv_1', 'o:alice'))?.version).toBe(2);
  });

  it('shows a conversation to its owner only, in every call', async () => {
    const { store } = await make(HOUR);
    await store.createConversation(conversation('conv_1'), [item('msg_1')]);
    expect(await store.getConversation('conv_1', 'o:bob')).toBeUndefined();
    expect(await store.listItems('conv_1', 'o:bob')).toBeUndefined();
    expect(await store.appendItems('conv_1', 'o:bob', { items: [item('msg_x')] })).toBeUndefined();
    expect(await store.deleteItem('conv_1', 'o:bob', 'msg_1')).toBe(false);
    expect(await store.setConversationMetadata('conv_1', 'o:bob', '{}')).toBeUndefined();
    expect(await store.deleteConversation('conv_1', 'o:bob')).toBe(false);
    expect((await store.listItems('conv_1', 'o:alice'))?.map((i) => i.id)).toEqual(['msg_1']);
  });

  it('updates metadata and deletes a conversation with its items', async () => {
    const { store } = await make(HOUR);
    await store.createConversation(conversation('conv_1'), [item('msg_1')]);
    expect((await store.setConversationMetadata('conv_1', 'o:alice', '{"topic":"y"}'))?.metadata).toBe('{"topic":"y"}');
    expect((await store.getConversation('conv_1', 'o:alice'))?.metadata).toBe('{"topic":"y"}');
    expect(await store.deleteConversation('conv_1', 'o:alice')).toBe(true);
    expect(await store.getConversation('conv_1', 'o:alice')).toBeUndefined();
    expect(await store.listItems('conv_1', 'o:alice')).toBeUndefined();
  });

  it("remembers a turn's session only when nobody changed the items since the turn read them", async () => {
    const { store } = await make(HOUR);
    await store.createConversation(conversation('conv_1'), []);
    const v1 = await store.appendItems('conv_1', 'o:alice', { items: [item('msg_1')], session: { json: '"S1"', ifVersion: 0 } });
    expect((await store.getConversation('conv_1', 'o:alice'))?.session).toBe('"S1"');
    // another change meanwhile: a turn that read version v1 must not claim its session saw everything
    await store.appendItems('conv_1', 'o:alice', { items: [item('msg_2')] });
    expect((await store.getConversation('conv_1', 'o:alice'))?.session).toBeNull();
    await store.appendItems('conv_1', 'o:alice', { items: [item('msg_3')], session: { json: '"S2"', ifVersion: v1 ?? -1 } });
    expect((await store.getConversation('conv_1', 'o:alice'))?.session).toBeNull();
    const v = (await store.getConversation('conv_1', 'o:alice'))?.version ?? -1;
    await store.appendItems('conv_1', 'o:alice', { items: [item('msg_4')], session: { json: '"S3"', ifVersion: v } });
    expect((await store.getConversation('conv_1', 'o:alice'))?.session).toBe('"S3"');
    await store.deleteItem('conv_1', 'o:alice', 'msg_1');
    expect((await store.getConversation('conv_1', 'o:alice'))?.session).toBeNull();
  });

  it("claims a session's head once", async () => {
    const { store } = await make(HOUR);
    expect(await store.claimSession('k:1/s1', 'resp_a', 'resp_b')).toBe(false);
    await store.setSessionHead('k:1/s1', 'resp_a');
    expect(await store.claimSession('k:1/s1', 'resp_a', 'resp_b')).toBe(true);
    expect(await store.claimSession('k:1/s1', 'resp_a', 'resp_c')).toBe(false);
    expect(await store.claimSession('k:1/s1', 'resp_b', 'resp_c')).toBe(true);
  });

  it('counts records and their bytes', async () => {
    const { store } = await make(HOUR);
    expect(await store.stats()).toEqual({ responses: 0, conversations: 0, bytes: 0 });
    await store.putResponse({ id: 'resp_1', owner: 'o:alice', createdAt: 1, body: 'é'.repeat(10) });
    await store.createConversation(conversation('conv_1'), [{ id: 'msg_1', json: '1234' }]);
    await store.appendItems('conv_1', 'o:alice', { items: [{ id: 'msg_2', json: '123456' }] });
    expect(await store.stats()).toEqual({ responses: 1, conversations: 1, bytes: 20 + 4 + 6 });
    await store.deleteItem('conv_1', 'o:alice', 'msg_2');
    await store.deleteResponse('resp_1', 'o:alice');
    expect(await store.stats()).toEqual({ responses: 0, conversations: 1, bytes: 4 });
  });

  it('keeps everything with no retention', async () => {
    const s = await make(0);
    await s.store.putResponse({ id: 'resp_1', owner: 'o:alice', createdAt: 1, body: '{}' });
    await s.advance(365 * 24 * HOUR);
    expect(await s.store.getResponses(['resp_1'], 'o:alice')).toHaveLength(1);
  });
}

describe('sqlite: the stored-state contract', () => {
  // a fresh in-memory database per case, with a clock the case moves
  const stores: SqliteConversationStore[] = [];
  afterAll(() => {
    for (const s of stores) s.close();
  });
  contract(async (retentionMs) => {
    let now = 1_000_000;
    const store = new SqliteConversationStore(':memory:', { retentionMs, now: () => now });
    stores.push(store);
    return { store, advance: async (ms) => void (now += ms) };
  });
});

/** an hour of the cases is this many ms of Redis time: Redis expires keys on its own clock, so the case waits */
const REDIS_HOUR_MS = 2000;

describeNeeding(REDIS)('redis: the stored-state contract', () => {
  // one real server, a fresh prefix per case
  let redis: RedisServer | undefined;
  const conns: RedisConnection[] = [];
  let prefixN = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of conns) await c.close();
    await redis?.stop();
  });
  contract(async (retentionMs) => {
    if (redis === undefined) throw new Error('redis-server is not running');
    const conn = new RedisConnection({ url: redis.url, prefix: `cs${prefixN++}:`, commandTimeoutMs: 1000, log: { warn: () => {}, info: () => {} } });
    await conn.start();
    conns.push(conn);
    const scale = REDIS_HOUR_MS / HOUR;
    const store = new RedisConversationStore(conn, { retentionMs: Math.round(retentionMs * scale) });
    // with no retention nothing expires: no need to wait
    return { store, advance: (ms) => (retentionMs > 0 ? new Promise((r) => setTimeout(r, ms * scale)) : Promise.resolve()) };
  });
});
