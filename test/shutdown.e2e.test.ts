/**
 * Graceful shutdown (gateway.close(), what SIGTERM/SIGINT call): new work refused and /readyz 503 while draining,
 * streams in flight finish within SHUTDOWN_GRACE_MS, those still running after it end with an error chunk (not a
 * cut socket), a non-stream request still waiting gets a 503 error body, and key state reaches the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../src/store/sqlite.js';
import { checkChatStream, isOpenAIError, open, parseJson, post, auth, waitUntil } from './fault-helpers.js';
import { CLIENT_KEY, UPSTREAM_KEYS, fingerprintKey, startStack, type Stack } from './harness.js';

const chat = (stream: boolean, text = 'tell me a long story about ten brave little foxes'): Record<string, unknown> => ({
  model: 'gpt-4o',
  stream,
  messages: [{ role: 'user', content: text }],
});

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('graceful shutdown', () => {
  it('lets a stream in flight finish within the grace period, answers /readyz 503 and refuses new work meanwhile, flushes key state', async () => {
    stack = await startStack({ env: { SHUTDOWN_GRACE_MS: '20000' }, sim: { deltas: 30, deltaIntervalMs: 30 } });
    const s = stack;
    // a key state change (alpha refused: out of the pool) that only the periodic flush or the shutdown writes
    s.sim.setKeyBehavior(UPSTREAM_KEYS[0]!, { kind: 'http', status: 401, on: 'session', times: 1 });
    const warm = await post(`${s.url}/v1/chat/completions`, chat(false, 'hello'), auth(CLIENT_KEY));
    expect(warm.status).toBe(200);

    const stream = open(`${s.url}/v1/chat/completions`, chat(true), auth(CLIENT_KEY));
    await stream.waitFor('"content":"'); // the answer has started
    expect(s.gateway.inflight.streams).toBe(1);

    const closing = s.gateway.close();
    const ready = await post(`${s.url}/readyz`, undefined);
    expect(ready.status).toBe(503);
    expect(parseJson(ready.body)).toMatchObject({ status: 'not_ready', shuttingDown: true });

    const refused = await post(`${s.url}/v1/chat/completions`, chat(false), auth(CLIENT_KEY));
    expect(refused.status).toBe(503);
    expect(isOpenAIError(parseJson(refused.body))).toBe(true);
    expect(parseJson(refused.body)).toMatchObject({ error: { code: 'server_shutting_down' } });
    expect(refused.headers['retry-after']).toBe('1');

    const res = await stream.done;
    await closing;
    expect(res.status).toBe(200);
    const check = checkChatStream(res.body);
    expect(check).toMatchObject({ ok: true, ending: 'done' });
    expect(check.content.split(' ').length).toBeGreaterThan(5);
    expect(s.gateway.inflight.size).toBe(0);

    // closed: the port no longer answers
    const after = await post(`${s.url}/healthz`, undefined, {}, { timeoutMs: 2000 });
    expect(after.status).toBe(0);

    const store = openStateStore(s.config.DATA_DIR);
    try {
      const records = await store.loadKeys();
      const alpha = records.find((r) => r.fingerprint === fingerprintKey(UPSTREAM_KEYS[0]!));
      expect(alpha).toBeDefined();
      expect((alpha!.state as { status?: string }).status).not.toBe('active');
    } finally {
      store.close();
    }
  });

  it('past the grace period ends a stream with an error chunk and a waiting request with a 503 body, and frees the upstream', async () => {
    stack = await startStack({ env: { SHUTDOWN_GRACE_MS: '300' }, sim: { deltas: 20, deltaIntervalMs: 5 } });
    const s = stack;
    // every stream stalls after 3 deltas; the non-stream request's first call never answers
    s.sim.setAllKeysBehavior({ kind: 'stall_stream', afterDeltas: 3 });
    const stream = open(`${s.url}/v1/chat/completions`, chat(true), auth(CLIENT_KEY));
    await stream.waitFor('"content":"');
    s.sim.setAllKeysBehavior({ kind: 'stall', on: 'query' });
    const waiting = open(`${s.url}/v1/chat/completions`, chat(false), auth(CLIENT_KEY));
    expect(await waitUntil(() => s.gateway.inflight.size === 2)).toBe(true);
    expect(s.gateway.inflight.streams).toBe(1);

    await s.gateway.close();
    const res = await stream.done;
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true); // ended, not cut
    const check = checkChatStream(res.body);
    expect(check).toMatchObject({ ok: true, ending: 'error', errorCode: 'server_shutting_down' });

    const other = await waiting.done;
    expect(other.status).toBe(503);
    expect(parseJson(other.body)).toMatchObject({ error: { type: 'api_error', code: 'server_shutting_down' } });
    expect(isOpenAIError(parseJson(other.body))).toBe(true);

    expect(s.gateway.inflight.size).toBe(0);
    // the upstream stream was aborted, not left hanging
    expect(await waitUntil(() => s.sim.stats().openStreams === 0)).toBe(true);
  });

  it('closes at once when nothing is in flight', async () => {
    stack = await startStack({ env: { SHUTDOWN_GRACE_MS: '600000' } });
    const s = stack;
    const ok = await post(`${s.url}/v1/chat/completions`, chat(false, 'hi'), auth(CLIENT_KEY));
    expect(ok.status).toBe(200);
    let closed = false;
    const closing = s.gateway.close().then(() => (closed = true));
    // with a 10-minute grace, only an empty drain can finish within the test's time
    expect(await waitUntil(() => closed, 5_000)).toBe(true);
    await closing;
  });
});
