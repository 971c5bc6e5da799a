/**
 * The key pool through the real HTTP path: the openai SDK (or raw undici) → gateway → simulator with per-key
 * failure behaviors. Every test checks both what the client saw and what became of each key (GET /admin/keys).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyInfo } from '../src/keypool/types.js';
import { CLIENT_KEY, UPSTREAM_KEYS, fingerprintKey, startStack, eventually, type Stack, type StackOptions } from './harness.js';

const [ALPHA, BETA, GAMMA] = UPSTREAM_KEYS as [string, string, string];
const FP = { alpha: fingerprintKey(ALPHA), beta: fingerprintKey(BETA), gamma: fingerprintKey(GAMMA) };
const answerTo = (said: string) => `Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: ${said}`;

const open: Stack[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function stackWith(opts: StackOptions = {}): Promise<Stack> {
  const s = await startStack(opts);
  open.push(s);
  return s;
}

const sdk = (s: Stack) => new OpenAI({ apiKey: CLIENT_KEY, baseURL: s.baseURL, maxRetries: 0, timeout: 15_000 });

/** Raw POST /v1/chat/completions: status, headers and the parsed body (or raw text for streams). */
async function chat(s: Stack, body: Record<string, unknown>) {
  const res = await request(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'ping' }], ...body }),
  });
  const text = await res.body.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** GET /admin/keys with the client key (the admin key by default); asserts no raw key is in the answer. */
async function keys(s: Stack): Promise<{ byFp: Record<string, KeyInfo>; circuit: { phase: string }; text: string }> {
  const res = await request(`${s.url}/admin/keys`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  const text = await res.body.text();
  expect(res.statusCode).toBe(200);
  expectNoRawKey(text);
  const body = JSON.parse(text) as { data: KeyInfo[]; circuit: { phase: string } };
  return { byFp: Object.fromEntries(body.data.map((k) => [k.fingerprint, k])), circuit: body.circuit, text };
}

function expectNoRawKey(text: string, extra: string[] = []): void {
  for (const k of [...UPSTREAM_KEYS, ...extra]) expect(text).not.toContain(k);
}

async function admin(s: Stack, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, key = CLIENT_KEY) {
  const res = await request(`${s.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text === '' ? undefined : (JSON.parse(text) as any) };
}

/** Upstream calls (sessions and queries) the simulator saw from this key. */
function hits(s: Stack, key: string): number {
  const k = s.sim.stats().byKey[key];
  return k === undefined ? 0 : k.sessions + k.queries;
}

/**
 * Which key a fresh pool tries first is not fixed (the gateway's own start-up calls take keys too), so a test aimed
 * at one key sends requests until that key was tried: each must succeed. Returns the response that tried it.
 */
async function untilKeyTried(s: Stack, key: string, body: Record<string, unknown> = {}, max = 6) {
  for (let i = 0; i < max; i++) {
    const r = await chat(s, body);
    expect(r.status).toBe(200);
    if (hits(s, key) > 0) return r;
  }
  throw new Error(`the pool never tried ${fingerprintKey(key)}`);
}

describe('a key that fails before the answer: the client never notices', () => {
  it('401: fails over, the client gets 200, the key is dead with its reason', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 401 });
    let tried = 0;
    for (let i = 0; i < 6 && hits(s, ALPHA) === 0; i++) {
      const { data, response } = await sdk(s)
        .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'dead key' }] })
        .withResponse();
      expect(response.status).toBe(200);
      expect(data.choices[0]?.message.content).toBe(answerTo('dead key'));
      if (hits(s, ALPHA) > 0) expect(response.headers.get('x-gateway-attempts')).toBe('2');
      tried = hits(s, ALPHA);
    }
    expect(tried).toBe(1);
    const { byFp } = await keys(s);
    expect(byFp[FP.alpha]).toMatchObject({ state: 'dead', reason: '401 unauthenticated', failures: 1 });
    const until = Date.parse(byFp[FP.alpha]!.until!);
    expect(until).toBeGreaterThan(Date.now() + 590_000); // next probe after BAD_KEY_RETRY_INTERVAL (600 s)
    expect(byFp[FP.beta]).toMatchObject({ state: 'active', failures: 0 });
    expect(byFp[FP.gamma]).toMatchObject({ state: 'active', failures: 0 });
    // a dead key is not tried again
    for (let i = 0; i < 4; i++) expect((await chat(s, {})).status).toBe(200);
    expect(s.sim.stats().byKey[ALPHA]?.sessions).toBe(1);
  });

  it('429 with Retry-After: cooling until about now + Retry-After, never dead', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 429, retryAfterSec: 30, times: 1 });
    const before = Date.now();
    const r = await untilKeyTried(s, ALPHA);
    expect(r.json.choices[0].message.content).toBe(answerTo('ping'));
    expect(r.headers['x-gateway-attempts']).toBe('2');
    const a = (await keys(s)).byFp[FP.alpha]!;
    expect(a.state).toBe('cooling');
    expect(a.reason).toMatch(/^429/);
    const until = Date.parse(a.until!);
    // Retry-After is never shortened; jitter only adds up to 10 %
    expect(until).toBeGreaterThanOrEqual(before + 30_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 33_000);
    // cooling keys are skipped, the others serve
    for (let i = 0; i < 4; i++) expect((await chat(s, {})).status).toBe(200);
    expect(s.sim.stats().byKey[ALPHA]?.sessions).toBe(1);
    expect((await keys(s)).byFp[FP.alpha]?.state).toBe('cooling');
  });

  it('one 5xx: transient, fails over, the key stays active with the error noted', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 502, times: 1 });
    const r = await untilKeyTried(s, ALPHA);
    expect(r.headers['x-gateway-attempts']).toBe('2');
    const { byFp } = await keys(s);
    expect(byFp[FP.alpha]).toMatchObject({ state: 'active', failures: 1 });
    expect(byFp[FP.alpha]?.lastError).toMatch(/^502/);
  });

  it('a key failing most of its calls with 5xx is degraded for a short while, not dead', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 500 });
    let a: KeyInfo | undefined;
    for (let i = 0; i < 15; i++) {
      const r = await chat(s, {});
      expect(r.status).toBe(200);
      a = (await keys(s)).byFp[FP.alpha];
      if (a?.state === 'degraded') break;
    }
    expect(a).toMatchObject({ state: 'degraded', failures: 3 });
    expect(a?.reason).toMatch(/^500/);
    // TRANSIENT_COOLDOWN_SEC (15 s) ± 10 % jitter
    expect(Date.parse(a!.until!)).toBeLessThanOrEqual(Date.now() + 17_000);
    const { byFp } = await keys(s);
    expect(byFp[FP.beta]?.state).toBe('active');
    expect(byFp[FP.gamma]?.state).toBe('active');
  });

  it('a slow key hits FIRST_BYTE_TIMEOUT_MS and the request fails over', async () => {
    const s = await stackWith({ env: { FIRST_BYTE_TIMEOUT_MS: '300' } });
    s.sim.setKeyBehavior(ALPHA, { kind: 'slow', delayMs: 5_000 });
    const r = await untilKeyTried(s, ALPHA, { stream: true });
    expect(r.text).toContain('data: [DONE]');
    expect(r.headers['x-gateway-attempts']).toBe('2');
    const a = (await keys(s)).byFp[FP.alpha]!;
    expect(a).toMatchObject({ state: 'active', failures: 1, lastError: 'first_byte_timeout' });
  });

  it('a connection reset fails over; the key is only noted', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'reset', on: 'query' });
    const r = await untilKeyTried(s, ALPHA, { stream: true });
    expect(r.text).toContain('data: [DONE]');
    const a = (await keys(s)).byFp[FP.alpha]!;
    expect(a).toMatchObject({ state: 'active', failures: 1, lastError: 'network' });
  });

  it('an edge-block 403 (HTML) fails over and never punishes the key', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 403, html: true });
    const r = await untilKeyTried(s, ALPHA);
    expect(r.headers['x-gateway-attempts']).toBe('2');
    for (let i = 0; i < 3; i++) expect((await chat(s, {})).status).toBe(200);
    const { byFp } = await keys(s);
    expect(byFp[FP.alpha]).toMatchObject({ state: 'active', failures: 0, reason: '' });
    expect(s.sim.stats().byKey[ALPHA]?.failures).toBeGreaterThanOrEqual(1);
  });

  it('an edge block on every key: 502 upstream_edge_blocked, still no key punished', async () => {
    const s = await stackWith();
    s.sim.setAllKeysBehavior({ kind: 'http', status: 403, html: true });
    const r = await chat(s, {});
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ type: 'api_error', code: 'upstream_edge_blocked' });
    const { byFp } = await keys(s);
    for (const fp of Object.values(FP)) expect(byFp[fp]).toMatchObject({ state: 'active', failures: 0 });
  });
});

describe('after the first byte: never retried', () => {
  it('a mid-stream cut ends with an OpenAI error chunk, not a clean end, and no retry', async () => {
    const s = await stackWith({ sim: { deltas: 8 } });
    s.sim.setAllKeysBehavior({ kind: 'cut', afterDeltas: 3, times: 1 });
    const stream = await sdk(s).chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'a long enough answer please' }],
    });
    let text = '';
    let caught: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as InstanceType<typeof OpenAI.APIError>).message).toMatch(/upstream stream failed after the answer started/);
    expect(text.length).toBeGreaterThan(0);
    expect(answerTo('a long enough answer please').startsWith(text)).toBe(true);
    expect(s.sim.stats().queries).toBe(1);
    const { byFp } = await keys(s);
    const hit = Object.values(byFp).filter((k) => k.failures > 0);
    expect(hit).toHaveLength(1);
    expect(hit[0]?.state).not.toBe('dead');
  });

  it('on the wire: the error chunk is the last event and [DONE] never comes', async () => {
    const s = await stackWith({ sim: { deltas: 8 } });
    s.sim.setAllKeysBehavior({ kind: 'cut', afterDeltas: 2, times: 1 });
    const r = await chat(s, { stream: true });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('[DONE]');
    const events = r.text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = JSON.parse(events.at(-1)!.slice(6));
    expect(last.error).toMatchObject({ type: 'api_error', code: 'upstream_stream_interrupted' });
    expect(events.length).toBeGreaterThan(1);
    expect(s.sim.stats().queries).toBe(1);
  });
});

describe("the upstream's trouble and the client's own faults", () => {
  it('an upstream-wide 429 opens the circuit: 429 with Retry-After at once, no key is dead', async () => {
    const s = await stackWith();
    s.sim.setAllKeysBehavior({ kind: 'http', status: 429, retryAfterSec: 20 });
    const first = await chat(s, {});
    expect(first.status).toBe(429);
    expect(first.json.error).toMatchObject({ type: 'rate_limit_error' });
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const calls = s.sim.stats().sessionsCreated + Object.values(s.sim.stats().byKey).reduce((n, k) => n + k.failures, 0);
    const second = await chat(s, {});
    expect(second.status).toBe(429);
    expect(second.json.error).toMatchObject({ type: 'rate_limit_error', code: 'upstream_rate_limited' });
    expect(second.json.error.message).toMatch(/failing for every key/);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // held by the circuit: the second request never reached the upstream
    expect(s.sim.stats().sessionsCreated + Object.values(s.sim.stats().byKey).reduce((n, k) => n + k.failures, 0)).toBe(calls);
    const { byFp, circuit } = await keys(s);
    expect(circuit.phase).toBe('open');
    for (const fp of Object.values(FP)) {
      expect(byFp[fp]?.state).toBe('active');
      expect(byFp[fp]?.failures).toBe(1);
    }
  });

  it('a bad reasoning_effort is the client’s 400: no upstream call, no key touched', async () => {
    const s = await stackWith();
    const r = await chat(s, { reasoning_effort: 'extreme' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: 'reasoning_effort' });
    expect(s.sim.stats().sessionsCreated).toBe(0);
    for (const k of Object.values((await keys(s)).byFp)) expect(k).toMatchObject({ state: 'active', failures: 0 });
  });

  it('an upstream context_length_exceeded before the first delta: 400 to the client, no failover, no key blamed', async () => {
    const s = await stackWith();
    s.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 0, errorCode: 'context_length_exceeded', message: 'The prompt is too long', times: 1 });
    const r = await chat(s, { stream: true });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded' });
    expect(r.json.error.message).toContain('The prompt is too long');
    expect(s.sim.stats().queries).toBe(1);
    for (const k of Object.values((await keys(s)).byFp)) expect(k).toMatchObject({ state: 'active', failures: 0, consecutiveFailures: 0 });
  });

  it('an upstream 400 is returned as is and never counts against the key', async () => {
    const s = await stackWith();
    s.sim.setAllKeysBehavior({ kind: 'http', status: 400, on: 'query', times: 1 });
    const r = await chat(s, {});
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('invalid_request_error');
    expect(s.sim.stats().queries).toBe(1);
    for (const k of Object.values((await keys(s)).byFp)) expect(k).toMatchObject({ state: 'active', failures: 0 });
  });

  it('a client abort mid-stream aborts the upstream and does not punish the key', async () => {
    const s = await stackWith({ sim: { deltas: 40, deltaIntervalMs: 50 } });
    const ctl = new AbortController();
    const stream = await sdk(s).chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] }, { signal: ctl.signal });
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks === 2) ctl.abort();
      }
    } catch {
      // the SDK may end the iteration quietly or throw an abort error: either way the client left
    }
    expect(chunks).toBeLessThan(10);
    await eventually(() => expect(s.sim.stats().abortedStreams).toBe(1));
    await eventually(async () => {
      for (const k of Object.values((await keys(s)).byFp)) expect(k).toMatchObject({ state: 'active', failures: 0, inFlight: 0 });
    });
    expect(s.sim.stats().openStreams).toBe(0);
  });
});

describe('all keys out', () => {
  it('every key dead: 503 with Retry-After and a message saying why', async () => {
    const s = await stackWith();
    s.sim.setAllKeysBehavior({ kind: 'http', status: 401 });
    const first = await chat(s, {});
    expect(first.status).toBe(503);
    expect(first.json.error).toMatchObject({ type: 'api_error', code: 'upstream_key_rejected' });
    const second = await chat(s, {});
    expect(second.status).toBe(503);
    expect(second.json.error.code).toBe('no_upstream_keys_available');
    expect(second.json.error.message).toMatch(/all 3 upstream keys are unavailable: 3 dead \(401 unauthenticated\)/);
    // the first key is due back at its next probe, BAD_KEY_RETRY_INTERVAL (600 s) away
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(590);
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(600);
    for (const k of Object.values((await keys(s)).byFp)) expect(k.state).toBe('dead');
  });

  it('every key only rate-limited: 429 all_keys_rate_limited with Retry-After', async () => {
    // two keys: too few for the upstream circuit, so the keys themselves cool down
    const s = await stackWith({ keys: [ALPHA, BETA] });
    s.sim.setAllKeysBehavior({ kind: 'http', status: 429, retryAfterSec: 40 });
    expect((await chat(s, {})).status).toBe(429);
    const r = await chat(s, {});
    expect(r.status).toBe(429);
    expect(r.json.error).toMatchObject({ type: 'rate_limit_error', code: 'all_keys_rate_limited' });
    expect(r.json.error.message).toMatch(/2 cooling/);
    const retryAfter = Number(r.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(38);
    expect(retryAfter).toBeLessThanOrEqual(45);
    const { byFp } = await keys(s);
    expect(byFp[FP.alpha]?.state).toBe('cooling');
    expect(byFp[FP.beta]?.state).toBe('cooling');
  });

  it('waits briefly (ALL_KEYS_OUT_WAIT_MS) when the first key is due back soon, instead of failing', async () => {
    const s = await stackWith({ keys: [ALPHA, BETA], env: { ALL_KEYS_OUT_WAIT_MS: '5000' } });
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 429, retryAfterSec: 1, times: 1 });
    s.sim.setKeyBehavior(BETA, { kind: 'http', status: 429, retryAfterSec: 1, times: 1 });
    // both keys answer 429 with a Retry-After of a second, within the wait: the request waits it out on a key
    // instead of failing (the same-key retry), and both keys are judged as usual
    const started = Date.now();
    const first = await chat(s, {});
    expect(first.status).toBe(200);
    expect(first.json.choices[0].message.content).toBe(answerTo('ping'));
    expect(first.headers['x-gateway-attempts']).toBe('3');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const second = await chat(s, {});
    expect(second.status).toBe(200);
    expect(second.json.choices[0].message.content).toBe(answerTo('ping'));
    expect(second.headers['x-gateway-attempts']).toBe('1');
  });
});

describe('recovery', () => {
  it('a dead key is probed on demand (POST /admin/keys/:fp/test) and comes back through probation', async () => {
    const s = await stackWith();
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 401 });
    await untilKeyTried(s, ALPHA);
    expect((await keys(s)).byFp[FP.alpha]?.state).toBe('dead');
    // still broken: the probe says so and the key stays dead
    const stillDead = await admin(s, 'POST', `/keys/${FP.alpha}/test`);
    expect(stillDead.status).toBe(200);
    expect(stillDead.json.outcome).toMatchObject({ ok: false, class: 'auth', reason: '401 unauthenticated' });
    expect(stillDead.json.key.state).toBe('dead');
    s.sim.setKeyBehavior(ALPHA, { kind: 'ok' });
    const tested = await admin(s, 'POST', `/keys/${FP.alpha}/test`);
    expect(tested.json.outcome.ok).toBe(true);
    expect(tested.json.key).toMatchObject({ state: 'probation' });
    expectNoRawKey(tested.text);
    // on probation it gets a reduced share, and after enough successes it is fully active again
    let a: KeyInfo | undefined;
    for (let i = 0; i < 80; i++) {
      expect((await chat(s, {})).status).toBe(200);
      a = (await keys(s)).byFp[FP.alpha];
      if (a?.state === 'active') break;
    }
    expect(a?.state).toBe('active');
    expect(a?.successes).toBeGreaterThanOrEqual(5);
  });

  it('a dead key is re-probed on its own after BAD_KEY_RETRY_INTERVAL', async () => {
    const s = await stackWith({ env: { BAD_KEY_RETRY_INTERVAL: '1' } });
    s.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 401, times: 1 });
    await untilKeyTried(s, ALPHA);
    expect((await keys(s)).byFp[FP.alpha]?.state).toBe('dead');
    await eventually(async () => expect((await keys(s)).byFp[FP.alpha]?.state).toBe('probation'), 10_000);
    expect(s.sim.stats().byKey[ALPHA]?.sessions).toBe(2); // the failed call, then the probe
  });
});

describe('the admin API', () => {
  it('lists, adds, disables, enables, tests and removes keys by fingerprint, never showing a raw key', async () => {
    const DELTA = 'od-key-delta-444444';
    const s = await stackWith({ sim: { keys: [...UPSTREAM_KEYS, DELTA] } });
    const seen: string[] = [];
    const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, key?: string) => {
      const r = await admin(s, method, path, body, key);
      seen.push(r.text);
      return r;
    };
    expect((await call('GET', '/keys', undefined, 'wrong-key')).status).toBe(401);
    const list = await call('GET', '/keys');
    expect(list.json.data.map((k: KeyInfo) => k.fingerprint)).toEqual([FP.alpha, FP.beta, FP.gamma]);
    expect(list.json.data[0]).toMatchObject({ state: 'active', source: 'env', weight: 1 });

    const added = await call('POST', '/keys', { key: DELTA, label: 'delta', weight: 2 });
    expect(added.status).toBe(201);
    const fpDelta = fingerprintKey(DELTA);
    expect(added.json).toMatchObject({ fingerprint: fpDelta, label: 'delta', weight: 2, source: 'admin', state: 'active' });
    expect((await call('POST', '/keys', { key: DELTA })).status).toBe(409);
    expect((await call('POST', '/keys', { key: 'has space' })).status).toBe(400);

    // disable every env key: only the new key may serve
    for (const fp of Object.values(FP)) expect((await call('POST', `/keys/${fp}/disable`)).json.state).toBe('disabled');
    for (let i = 0; i < 3; i++) expect((await chat(s, {})).status).toBe(200);
    expect(s.sim.stats().byKey[DELTA]?.queries).toBe(3);
    expect(s.sim.stats().byKey[ALPHA]?.queries ?? 0).toBe(0);

    const enabled = await call('POST', `/keys/${FP.alpha}/enable`);
    expect(enabled.json.state).toBe('probation');
    const tested = await call('POST', `/keys/${fpDelta}/test`);
    expect(tested.json.outcome.ok).toBe(true);

    const removed = await call('DELETE', `/keys/${fpDelta}`);
    expect(removed.json).toEqual({ fingerprint: fpDelta, deleted: true });
    expect((await call('DELETE', `/keys/${fpDelta}`)).status).toBe(404);
    expect((await call('POST', `/keys/${fpDelta}/test`)).status).toBe(404);
    // a raw key pasted into the path is refused and not echoed
    const pasted = await call('POST', `/keys/${encodeURIComponent(ALPHA)}/disable`);
    expect(pasted.status).toBe(400);
    const after = await keys(s);
    expect(Object.keys(after.byFp)).toEqual([FP.alpha, FP.beta, FP.gamma]);
    for (const text of seen) expectNoRawKey(text, [DELTA]);
    expectNoRawKey(s.logs(), [DELTA]);
  });
});

describe('persistence', () => {
  it('a dead key stays dead (and an admin key stays) across a restart on the same DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'odgw-persist-'));
    const DELTA = 'od-key-delta-444444';
    try {
      const first = await startStack({ env: { DATA_DIR: dataDir }, sim: { keys: [...UPSTREAM_KEYS, DELTA] } });
      let deadUntil: string | null | undefined;
      try {
        first.sim.setKeyBehavior(ALPHA, { kind: 'http', status: 401 });
        await untilKeyTried(first, ALPHA);
        expect((await admin(first, 'POST', '/keys', { key: DELTA, label: 'delta' })).status).toBe(201);
        expect((await admin(first, 'POST', `/keys/${FP.gamma}/disable`)).status).toBe(200);
        const k = (await keys(first)).byFp;
        expect(k[FP.alpha]?.state).toBe('dead');
        deadUntil = k[FP.alpha]?.until;
      } finally {
        await first.close();
      }
      const second = await stackWith({ env: { DATA_DIR: dataDir }, sim: { keys: [...UPSTREAM_KEYS, DELTA] } });
      const k = (await keys(second)).byFp;
      expect(k[FP.alpha]).toMatchObject({ state: 'dead', reason: '401 unauthenticated', until: deadUntil, failures: 1 });
      expect(k[FP.gamma]?.state).toBe('disabled');
      expect(k[fingerprintKey(DELTA)]).toMatchObject({ state: 'active', source: 'admin', label: 'delta' });
      // the restored dead key is not used, though the new simulator would accept it
      for (let i = 0; i < 4; i++) expect((await chat(second, {})).status).toBe(200);
      expect(second.sim.stats().byKey[ALPHA]).toBeUndefined();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('load spreading', () => {
  it('50 concurrent streams over 3 keys use all of them, evenly, each on its own session', async () => {
    const s = await stackWith({ sim: { deltas: 6, deltaIntervalMs: 10 } });
    const client = sdk(s);
    const texts = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: `stream ${i}` }] });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    texts.forEach((t, i) => expect(t).toBe(answerTo(`stream ${i}`)));
    const st = s.sim.stats();
    expect(st.queries).toBe(50);
    expect(st.sessionsReused).toBe(0);
    expect(st.crossKeyQueries).toBe(0);
    for (const k of UPSTREAM_KEYS) {
      expect(st.byKey[k]?.queries).toBeGreaterThanOrEqual(12);
      expect(st.byKey[k]?.queries).toBeLessThanOrEqual(22);
    }
    for (const k of Object.values((await keys(s)).byFp)) expect(k).toMatchObject({ state: 'active', inFlight: 0, failures: 0 });
  });
});
