/**
 * Two replicas on one real redis-server, in front of one simulator: a conversation started on one continues on the
 * other, a previous_response_id chain crosses replicas (and, with SESSION_CONTINUATION, so does the OnDemand
 * session), a response stays invisible to other keys on every replica, and with Redis gone a plain turn is still
 * answered while reading stored state is a 503.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { CLIENT_KEY, startTestGateway, type GatewayUnderTest } from './harness.js';
import { startRedis, type RedisServer } from './redis-helper.js';
import { describeNeeding, REDIS } from './requirements.js';

const OTHER_KEY = 'sk-test-other-private-key-0123456789';

let redis: RedisServer;
let sim: Simulator;
const replicas: GatewayUnderTest[] = [];
const clients: OpenAI[] = [];

const queries = (): string[] => sim.stats().queryBodies.map((b) => (b as { query: string }).query);

describeNeeding(REDIS)('stored state on two replicas sharing Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ keys: ['od-key-alpha-111111', 'od-key-beta-222222'] });
    for (let i = 0; i < 2; i++) {
      const r = await startTestGateway(sim.url, {
        keys: ['od-key-alpha-111111', 'od-key-beta-222222'],
        env: { REDIS_URL: redis.url, PRIVATE_KEY: `${CLIENT_KEY},${OTHER_KEY}`, SESSION_CONTINUATION: 'true', SESSION_POOL_SIZE: '0', SHUTDOWN_GRACE_MS: '1000' },
      });
      replicas.push(r);
      clients.push(new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${r.url}/v1`, maxRetries: 0 }));
    }
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await sim?.close();
    await redis?.stop();
  });

  it('a conversation started on one replica continues on the other', async () => {
    const [a, b] = clients as [OpenAI, OpenAI];
    const conv = await a.conversations.create({ items: [{ type: 'message', role: 'user', content: 'The code word is kiwi.' }] });
    const res = await b.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'What is the code word?' });
    expect(res.output_text).toBe('The code word is kiwi.');
    const items = await a.conversations.items.list(conv.id, { order: 'asc' });
    expect(items.data.map((i) => i.id)).toContain(res.output[0]?.id);
    expect(items.data).toHaveLength(3);
    // and back on the first replica, the next turn continues the session the second one used
    sim.reset();
    const next = await a.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'What was the code word?' });
    expect(queries()).toEqual(['What was the code word?']);
    expect(next.output_text).toBe('The code word is kiwi.');
  });

  it('a previous_response_id chain crosses replicas, and so does its OnDemand session', async () => {
    const [a, b] = clients as [OpenAI, OpenAI];
    const first = await a.responses.create({ model: 'gpt-4o', input: 'The code word is fig.' });
    expect((await b.responses.retrieve(first.id)).id).toBe(first.id);
    sim.reset();
    const second = await b.responses.stream({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' }).finalResponse();
    expect(second.output_text).toBe('The code word is fig.');
    expect(queries()).toEqual(['What is the code word?']);
    expect(sim.stats().sessionsReused).toBe(1);
    expect(sim.stats().crossKeyQueries).toBe(0);
  });

  it('another key gets 404 on every replica', async () => {
    const created = await (clients[0] as OpenAI).responses.create({ model: 'gpt-4o', input: 'mine' });
    for (const r of replicas) {
      const someone = new OpenAI({ apiKey: OTHER_KEY, baseURL: `${r.url}/v1`, maxRetries: 0 });
      const err = (await someone.responses.retrieve(created.id).catch((e: unknown) => e)) as { status?: number };
      expect(err.status).toBe(404);
    }
  });

  it('with Redis gone, a plain turn is still answered and reading stored state is a 503', async () => {
    const a = clients[0] as OpenAI;
    await redis.kill();
    try {
      const res = await a.responses.create({ model: 'gpt-4o', input: 'still here?' });
      expect(res.status).toBe('completed');
      const err = (await a.responses.retrieve(res.id).catch((e: unknown) => e)) as { status?: number; error?: { code?: string } };
      expect(err.status).toBe(503);
      expect(err.error?.code).toBe('stored_state_unavailable');
      expect(replicas[0]?.logs()).toContain('stored state: keeping the response failed');
    } finally {
      await redis.restart();
    }
  });
});
