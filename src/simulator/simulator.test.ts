import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SIM_CATALOGUE, THINKING_TEXT, UNICODE_ANSWER, defaultAnswerText, simTokens, splitDeltas, startSimulator, type SimStats, type Simulator } from './index.js';
import { splitPoint } from './frames.js';

const UA = 'ondemand-gateway-tests/1.0';
const KEYS = ['k1', 'k2', 'k3'];

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ keys: KEYS });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

interface CallOpts {
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  ua?: string | null;
  headersTimeout?: number;
  bodyTimeout?: number;
}

async function call(method: 'GET' | 'POST', path: string, o: CallOpts = {}) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.ua !== null) headers['user-agent'] = o.ua ?? UA;
  if (o.key !== null) headers['apikey'] = o.key ?? 'k1';
  let body: string | null = null;
  if (o.body !== undefined) {
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${sim.url}${path}`, {
    method,
    headers,
    body,
    ...(o.headersTimeout !== undefined ? { headersTimeout: o.headersTimeout } : {}),
    ...(o.bodyTimeout !== undefined ? { bodyTimeout: o.bodyTimeout } : {}),
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

async function newSession(key = 'k1'): Promise<string> {
  const r = await call('POST', '/chat/v1/sessions', { key, body: { externalUserId: 'user-1' } });
  expect(r.status).toBe(201);
  return r.json.data.id as string;
}

const queryBody = (query: string, extra: Record<string, unknown> = {}) => ({
  query,
  endpointId: 'predefined-openai-gpt4o',
  responseMode: 'stream',
  ...extra,
});

interface Frame {
  event: string | undefined;
  data: string;
}

/** Parse raw SSE text strictly as OnDemand writes it: `event:x\ndata:y\n\n` or `data:y\n\n`. */
function parseFrames(raw: string): Frame[] {
  expect(raw.endsWith('\n\n')).toBe(true);
  return raw
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      if (lines.length === 1) {
        expect(lines[0]!.startsWith('data:')).toBe(true);
        return { event: undefined, data: lines[0]!.slice(5) };
      }
      expect(lines).toHaveLength(2);
      expect(lines[0]!.startsWith('event:')).toBe(true);
      expect(lines[1]!.startsWith('data:')).toBe(true);
      return { event: lines[0]!.slice(6), data: lines[1]!.slice(5) };
    });
}

async function until(cond: (s: SimStats) => boolean, ms = 2000): Promise<SimStats> {
  const end = Date.now() + ms;
  for (;;) {
    const s = sim.stats();
    if (cond(s) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function streamRaw(sessionId: string, body: unknown, key = 'k1'): Promise<{ status: number; raw: string; headers: Record<string, unknown> }> {
  const r = await call('POST', `/chat/v1/sessions/${sessionId}/query`, { key, body });
  return { status: r.status, raw: r.text, headers: r.headers };
}

describe('sessions', () => {
  it('creates a session with 201 and the documented shape', async () => {
    const r = await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u-42', pluginIds: [] } });
    expect(r.status).toBe(201);
    expect(r.json.message).toBe('Session created successfully');
    const d = r.json.data;
    expect(d.id).toMatch(/^[0-9a-f]{24}$/);
    expect(d).toMatchObject({ externalUserId: 'u-42', pluginIds: [], title: '' });
    expect(typeof d.companyId).toBe('string');
    expect(new Date(d.createdAt).toISOString()).toBe(d.createdAt);
    expect(sim.stats().sessionsCreated).toBe(1);
    expect(sim.stats().byKey['k1']).toEqual({ sessions: 1, queries: 0, failures: 0 });

    const g = await call('GET', `/chat/v1/sessions/${d.id}`);
    expect(g.status).toBe(200);
    expect(g.json.data.id).toBe(d.id);
  });

  it('requires externalUserId', async () => {
    const r = await call('POST', '/chat/v1/sessions', { body: {} });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ errorCode: 'invalid_request', message: 'externalUserId is required' });
  });

  it('keeps history; a second query on a session counts as reuse', async () => {
    const seen: string[][] = [];
    sim.setOptions({
      answer: (ctx) => {
        seen.push(ctx.history);
        return { text: `answer to ${ctx.query}` };
      },
    });
    const sid = await newSession();
    await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('one', { responseMode: 'sync' }) });
    await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('two', { responseMode: 'sync' }) });
    expect(seen).toEqual([[], ['one', 'answer to one']]);
    expect(sim.stats().sessionsReused).toBe(1);
    const m = await call('GET', `/chat/v1/sessions/${sid}/messages`);
    expect(m.json.data.map((x: { query: string; status: string }) => [x.query, x.status])).toEqual([
      ['one', 'completed'],
      ['two', 'completed'],
    ]);
  });

  it('remembers its earlier turns: a follow-up in the same session recalls the code word, a fresh session does not', async () => {
    const sid = await newSession();
    await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('The code word is kiwi. Say ok.', { responseMode: 'sync' }) });
    const again = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('What is the code word?', { responseMode: 'sync' }) });
    expect(again.json.data.answer).toBe('The code word is kiwi.');
    const fresh = await newSession();
    const other = await call('POST', `/chat/v1/sessions/${fresh}/query`, { body: queryBody('What is the code word?', { responseMode: 'sync' }) });
    expect(other.json.data.answer).toBe('I do not know the code word.');
  });

  it('counts a query made with another key than the session owner', async () => {
    const sid = await newSession('k1');
    await call('POST', `/chat/v1/sessions/${sid}/query`, { key: 'k2', body: queryBody('x', { responseMode: 'sync' }) });
    expect(sim.stats().crossKeyQueries).toBe(1);
  });
});

describe('stream', () => {
  it('sends the exact frame sequence', async () => {
    const sid = await newSession();
    const query = 'first line\n  hi there  ';
    const { status, raw, headers } = await streamRaw(sid, queryBody(query));
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream');
    expect(raw).not.toContain('data: ');
    expect(raw.endsWith('data:[DONE]\n\n')).toBe(true);

    const answer = 'Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: hi there';
    expect(defaultAnswerText({ query, endpointId: 'predefined-openai-gpt4o', sessionId: sid, history: [] })).toBe(answer);
    const deltas = splitDeltas(answer);
    const frames = parseFrames(raw);
    expect(frames).toHaveLength(1 + 2 + deltas.length + 1 + 1 + 1);

    const hb = frames[0]!;
    expect(hb.event).toBe('heartbeat');
    const hbData = JSON.parse(hb.data);
    expect(Object.keys(hbData)).toEqual(['sessionId', 'messageId', 'time']);
    expect(hbData.sessionId).toBe(sid);
    const mid = hbData.messageId as string;
    expect(mid).toMatch(/^[0-9a-f]{24}$/);

    for (const [i, f] of frames.slice(1, 3).entries()) {
      expect(f.event).toBe('message');
      const d = JSON.parse(f.data);
      expect(d.eventType).toBe('statusLog');
      expect(d.eventIndex).toBe(i + 1);
      expect(Object.keys(d.currentStatusLog)).toEqual(['statusType', 'statusMessage', 'time']);
    }
    deltas.forEach((delta, i) => {
      const f = frames[3 + i]!;
      expect(f.event).toBe('message');
      expect(f.data).toBe(JSON.stringify({ eventType: 'fulfillment', answer: delta, sessionId: sid, messageId: mid, status: 'processing', eventIndex: i + 1 }));
    });
    const finalStatus = JSON.parse(frames[3 + deltas.length]!.data);
    expect(finalStatus.eventType).toBe('statusLog');
    expect(finalStatus.currentStatusLog.statusMessage).toBe(answer);

    const metrics = JSON.parse(frames[4 + deltas.length]!.data);
    expect(metrics.eventType).toBe('metricsLog');
    expect(metrics.publicMetrics).toMatchObject({
      inputTokens: simTokens(query),
      outputTokens: simTokens(answer),
      totalTokens: simTokens(query) + simTokens(answer),
    });
    expect(Object.keys(metrics.publicMetrics)).toEqual(['inputTokens', 'outputTokens', 'totalTokens', 'ragTimeSec', 'fulfillmentTimeSec', 'totalTimeSec']);
    expect(frames[frames.length - 1]).toEqual({ event: undefined, data: '[DONE]' });
    const s = await until((x) => x.openStreams === 0);
    expect(s.openStreams).toBe(0);
    expect(s.abortedStreams).toBe(0);
  });

  it('sends thinking frames for reasoning models before the answer', async () => {
    const sid = await newSession();
    const { raw } = await streamRaw(sid, queryBody('why?', { endpointId: 'predefined-deepseek-r1' }));
    const frames = parseFrames(raw);
    const thinking = frames.filter((f) => f.event === 'thinking').map((f) => JSON.parse(f.data));
    expect(thinking.length).toBeGreaterThan(1);
    expect(thinking.map((t) => t.eventType)).toEqual(thinking.map(() => 'fulfillment_thinking'));
    expect(thinking.map((t) => t.eventIndex)).toEqual(thinking.map((_, i) => i + 1));
    expect(thinking.map((t) => t.thinking.delta).join('')).toBe(THINKING_TEXT);
    const lastThinking = frames.map((f) => f.event).lastIndexOf('thinking');
    const firstAnswer = frames.findIndex((f) => f.data.includes('"eventType":"fulfillment"'));
    expect(lastThinking).toBeLessThan(firstAnswer);
  });

  it('honours the deltas option and SIM_ECHO / SIM_NO_METRICS markers', async () => {
    sim.setOptions({ deltas: 3 });
    const sid = await newSession();
    const query = 'SIM_ECHO SIM_NO_METRICS\nline "two"\twith tab';
    const frames = parseFrames((await streamRaw(sid, queryBody(query))).raw).map((f) => ({ ...f, d: f.data.startsWith('{') ? JSON.parse(f.data) : f.data }));
    const parts = frames.filter((f) => f.d.eventType === 'fulfillment').map((f) => f.d.answer as string);
    expect(parts).toHaveLength(3);
    expect(parts.join('')).toBe(query);
    expect(frames.some((f) => f.d.eventType === 'metricsLog')).toBe(false);
  });

  it('sends periodic heartbeats while streaming', async () => {
    sim.setOptions({ heartbeatMs: 25, deltaIntervalMs: 30, deltas: 5 });
    const sid = await newSession();
    const frames = parseFrames((await streamRaw(sid, queryBody('beat'))).raw);
    expect(frames[0]!.event).toBe('heartbeat');
    expect(frames.filter((f) => f.event === 'heartbeat').length).toBeGreaterThanOrEqual(3);
    expect(frames[frames.length - 1]!.data).toBe('[DONE]');
    const answer = frames.map((f) => (f.data.startsWith('{') ? JSON.parse(f.data) : {})).filter((d) => d.eventType === 'fulfillment');
    expect(answer.map((d) => d.answer).join('')).toBe(defaultAnswerText({ query: 'beat', endpointId: 'predefined-openai-gpt4o', sessionId: sid, history: [] }));
  });

  it('SIM_UNICODE splits multi-byte characters across socket writes', async () => {
    const sid = await newSession();
    const res = await request(`${sim.url}/chat/v1/sessions/${sid}/query`, {
      method: 'POST',
      headers: { 'user-agent': UA, apikey: 'k1', 'content-type': 'application/json' },
      body: JSON.stringify(queryBody('SIM_UNICODE please')),
    });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const strict = new TextDecoder('utf-8', { fatal: true });
    const broken = chunks.filter((c) => {
      try {
        strict.decode(c);
        return false;
      } catch {
        return true;
      }
    });
    expect(chunks.length).toBeGreaterThan(2);
    expect(broken.length).toBeGreaterThan(0);
    const frames = parseFrames(Buffer.concat(chunks).toString('utf8'));
    const answer = frames
      .filter((f) => f.data.includes('"eventType":"fulfillment"'))
      .map((f) => JSON.parse(f.data).answer)
      .join('');
    expect(answer).toBe(UNICODE_ANSWER);
    expect(frames[frames.length - 1]!.data).toBe('[DONE]');
  });

  it('counts a client that hangs up mid-stream as aborted and stops', async () => {
    sim.setOptions({ deltaIntervalMs: 40, deltas: 20 });
    const sid = await newSession();
    const ac = new AbortController();
    const res = await request(`${sim.url}/chat/v1/sessions/${sid}/query`, {
      method: 'POST',
      headers: { 'user-agent': UA, apikey: 'k1', 'content-type': 'application/json' },
      body: JSON.stringify(queryBody('abort me')),
      signal: ac.signal,
    });
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    expect(sim.stats().openStreams).toBe(1);
    ac.abort();
    await expect(it.next()).rejects.toThrow();
    const s = await until((x) => x.abortedStreams === 1 && x.openStreams === 0);
    expect(s.abortedStreams).toBe(1);
    expect(s.openStreams).toBe(0);
  });
});

describe('sync and validation', () => {
  it('answers sync queries without usage', async () => {
    const sid = await newSession();
    const r = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('hello', { responseMode: 'sync' }) });
    expect(r.status).toBe(200);
    expect(r.json.message).toBe('Chat query submitted successfully');
    expect(Object.keys(r.json.data)).toEqual(['sessionId', 'messageId', 'answer', 'status']);
    expect(r.json.data).toMatchObject({
      sessionId: sid,
      answer: 'Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: hello',
      status: 'completed',
    });
    expect(sim.stats().lastQuery).toEqual(queryBody('hello', { responseMode: 'sync' }));
    expect(sim.stats().queries).toBe(1);
  });

  it('maps an answer error to an HTTP status in sync mode', async () => {
    sim.setOptions({ answer: () => ({ text: 'x', error: { afterDeltas: 0, message: 'too long', errorCode: 'context_length_exceeded' } }) });
    const sid = await newSession();
    const r = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('q', { responseMode: 'sync' }) });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ errorCode: 'context_length_exceeded', message: 'too long' });
  });

  const cases: [string, Record<string, unknown>, string?][] = [
    ['missing query', { query: undefined }],
    ['missing endpointId', { endpointId: undefined }],
    ['missing responseMode', { responseMode: undefined }],
    ['unknown endpoint', { endpointId: 'predefined-nope' }],
    ['inactive endpoint', { endpointId: 'predefined-openai-gpt3.5-turbo' }],
    ['bad reasoningEffort', { reasoningEffort: 'high' }, 'reasoningEffort must be one of low, medium, max'],
    ['5 stop sequences', { modelConfigs: { stopSequences: ['a', 'b', 'c', 'd', 'e'] } }],
    ['temperature 2.5', { modelConfigs: { temperature: 2.5 } }],
    ['topP 1.1', { modelConfigs: { topP: 1.1 } }],
    ['presencePenalty -0.1', { modelConfigs: { presencePenalty: -0.1 } }],
    ['frequencyPenalty 3', { modelConfigs: { frequencyPenalty: 3 } }],
  ];
  it.each(cases)('400 for %s', async (_name, patch, message) => {
    const sid = await newSession();
    const body: Record<string, unknown> = { ...queryBody('q', { responseMode: 'sync' }), ...patch };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const r = await call('POST', `/chat/v1/sessions/${sid}/query`, { body });
    expect(r.status).toBe(400);
    expect(r.json.errorCode).toBe('invalid_request');
    if (message) expect(r.json.message).toBe(message);
  });

  it('accepts valid optional fields and byoi-/byom- endpoints', async () => {
    const sid = await newSession();
    const r = await call('POST', `/chat/v1/sessions/${sid}/query`, {
      body: queryBody('q', {
        responseMode: 'sync',
        endpointId: 'byoi-1234',
        reasoningEffort: 'max',
        modelConfigs: { stopSequences: ['a', 'b', 'c', 'd'], temperature: 2, topP: 0, presencePenalty: 0, frequencyPenalty: 2, maxTokens: 100 },
      }),
    });
    expect(r.status).toBe(200);
  });

  it('404 for an unknown session, 404 for an unknown route', async () => {
    const r = await call('POST', '/chat/v1/sessions/000000000000000000000000/query', { body: queryBody('q') });
    expect(r.status).toBe(404);
    expect(r.json.errorCode).toBe('not_found');
    expect((await call('GET', '/nope')).status).toBe(404);
  });
});

describe('auth and edge', () => {
  it('401 for a missing or unknown apikey, without echoing it', async () => {
    const a = await call('POST', '/chat/v1/sessions', { key: null, body: { externalUserId: 'u' } });
    expect(a.status).toBe(401);
    expect(a.json.errorCode).toBe('unauthenticated');
    const b = await call('GET', '/config/v1/public/endpoints', { key: 'sk-secret-unknown' });
    expect(b.status).toBe(401);
    expect(b.json.errorCode).toBe('unauthenticated');
    expect(b.text).not.toContain('sk-secret-unknown');
  });

  it('403 HTML error 1010 for a missing or default User-Agent', async () => {
    for (const ua of [null, '', 'undici', 'node']) {
      const r = await call('GET', '/config/v1/public/endpoints', { ua });
      expect(r.status).toBe(403);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.text).toContain('error code: 1010');
    }
  });

  it('accepts any non-empty key when no keys are configured', async () => {
    const open = await startSimulator();
    try {
      const r = await request(`${open.url}/config/v1/public/endpoints`, { headers: { 'user-agent': UA, apikey: 'whatever' } });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    } finally {
      await open.close();
    }
  });
});

describe('key behaviors', () => {
  it('http 429 with Retry-After, `times`, then ok', async () => {
    sim.setKeyBehavior('k1', { kind: 'http', status: 429, retryAfterSec: 7, times: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } });
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBe('7');
      expect(r.json.errorCode).toBe('rate_limit_exceeded');
    }
    expect((await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } })).status).toBe(201);
    expect(sim.stats().byKey['k1']).toEqual({ sessions: 3, queries: 0, failures: 2 });
  });

  it('http 401 on one key only; other keys unaffected', async () => {
    sim.setKeyBehavior('k2', { kind: 'http', status: 401 });
    const r = await call('POST', '/chat/v1/sessions', { key: 'k2', body: { externalUserId: 'u' } });
    expect(r.status).toBe(401);
    expect(r.json.errorCode).toBe('unauthenticated');
    expect((await call('POST', '/chat/v1/sessions', { key: 'k1', body: { externalUserId: 'u' } })).status).toBe(201);
  });

  it('http 403 HTML edge block and 500 with a custom body, query only', async () => {
    sim.setKeyBehavior('k1', { kind: 'http', status: 403, html: true, times: 1 });
    const a = await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } });
    expect(a.status).toBe(403);
    expect(a.text).toContain('error code: 1010');

    sim.setKeyBehavior('k1', { kind: 'http', status: 500, body: { errorCode: 'model_error', message: 'model down' }, on: 'query' });
    const sid = await newSession();
    const b = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('q') });
    expect(b.status).toBe(500);
    expect(b.json).toEqual({ errorCode: 'model_error', message: 'model down' });
  });

  it('all-keys behavior hits every key', async () => {
    sim.setAllKeysBehavior({ kind: 'http', status: 429, times: 2 });
    expect((await call('POST', '/chat/v1/sessions', { key: 'k1', body: { externalUserId: 'u' } })).status).toBe(429);
    expect((await call('POST', '/chat/v1/sessions', { key: 'k2', body: { externalUserId: 'u' } })).status).toBe(429);
    expect((await call('POST', '/chat/v1/sessions', { key: 'k3', body: { externalUserId: 'u' } })).status).toBe(201);
  });

  it('reset destroys the socket without an answer', async () => {
    sim.setKeyBehavior('k1', { kind: 'reset', times: 1 });
    await expect(call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } })).rejects.toThrow();
    expect((await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } })).status).toBe(201);
  });

  it('stall never answers until the client gives up', async () => {
    sim.setKeyBehavior('k1', { kind: 'stall', on: 'session', times: 1 });
    const t0 = Date.now();
    await expect(call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' }, headersTimeout: 200 })).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('slow delays the answer', async () => {
    sim.setKeyBehavior('k1', { kind: 'slow', delayMs: 150, times: 1 });
    const t0 = Date.now();
    expect((await call('POST', '/chat/v1/sessions', { body: { externalUserId: 'u' } })).status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('cut: N deltas then the socket dies, no [DONE]', async () => {
    const sid = await newSession();
    sim.setKeyBehavior('k1', { kind: 'cut', afterDeltas: 2, times: 1 });
    const res = await request(`${sim.url}/chat/v1/sessions/${sid}/query`, {
      method: 'POST',
      headers: { 'user-agent': UA, apikey: 'k1', 'content-type': 'application/json' },
      body: JSON.stringify(queryBody('cut me please now')),
    });
    expect(res.statusCode).toBe(200);
    let got = '';
    await expect(
      (async () => {
        for await (const c of res.body) got += (c as Buffer).toString('utf8');
      })(),
    ).rejects.toThrow();
    expect(got).not.toContain('[DONE]');
    expect(got.match(/"eventType":"fulfillment"/g)).toHaveLength(2);
    expect(sim.stats().byKey['k1']!.failures).toBe(1);
  });

  it('stream_error: N deltas then data:[ERROR] and a clean end', async () => {
    const sid = await newSession();
    sim.setKeyBehavior('k1', { kind: 'stream_error', afterDeltas: 1, errorCode: 'model_error', message: 'boom' });
    const { status, raw } = await streamRaw(sid, queryBody('error me'));
    expect(status).toBe(200);
    const frames = parseFrames(raw);
    expect(frames.filter((f) => f.data.includes('"eventType":"fulfillment"'))).toHaveLength(1);
    expect(raw.endsWith('data:[ERROR]:{"message":"boom","errorCode":"model_error"}\n\n')).toBe(true);
    expect(raw).not.toContain('[DONE]');
  });

  it('stall_stream: N deltas then silence until the client times out', async () => {
    const sid = await newSession();
    sim.setKeyBehavior('k1', { kind: 'stall_stream', afterDeltas: 1 });
    const res = await request(`${sim.url}/chat/v1/sessions/${sid}/query`, {
      method: 'POST',
      headers: { 'user-agent': UA, apikey: 'k1', 'content-type': 'application/json' },
      body: JSON.stringify(queryBody('stall me')),
      bodyTimeout: 250,
    });
    let got = '';
    await expect(
      (async () => {
        for await (const c of res.body) got += (c as Buffer).toString('utf8');
      })(),
    ).rejects.toThrow();
    expect(got.match(/"eventType":"fulfillment"/g)).toHaveLength(1);
    const s = await until((x) => x.abortedStreams === 1);
    expect(s.abortedStreams).toBe(1);
    expect(s.openStreams).toBe(0);
  });

  it('stream behaviors do not touch session creation', async () => {
    sim.setKeyBehavior('k1', { kind: 'cut', afterDeltas: 0, times: 1 });
    await newSession();
    await newSession();
  });
});

describe('catalogue', () => {
  it('lists every endpoint with its status', async () => {
    const r = await call('GET', '/config/v1/public/endpoints');
    expect(r.status).toBe(200);
    expect(r.json.message).toBe('ok');
    const byId = new Map<string, { status: string; streaming_supported: boolean }>(
      r.json.endpointsData.map((e: { endpoint_id: string; status: string; streaming_supported: boolean }) => [e.endpoint_id, e]),
    );
    for (const id of [
      'predefined-openai-gpt4o',
      'predefined-openai-gpt4o-mini',
      'predefined-openai-gpt4.1-nano',
      'predefined-openai-gpto3-mini',
      'predefined-openai-gpt5.2',
      'predefined-claude-4-6-opus',
      'predefined-claude-haiku-4-5',
      'predefined-gemini-2.5-flash',
      'predefined-deepseek-r1',
      'predefined-xai-grok4',
    ]) {
      expect(byId.get(id)?.status).toBe('active');
    }
    expect(byId.get('predefined-openai-gpt3.5-turbo')?.status).toBe('inactive');
    expect(r.json.endpointsData).toHaveLength(SIM_CATALOGUE.length);
  });
});

describe('media', () => {
  it('uploads a file by URL, binds it to the session, the answer mentions it', async () => {
    const sid = await newSession();
    const r = await call('POST', '/media/v1/public/file', {
      body: { url: 'https://example.com/docs/report.pdf', plugins: ['plugin-1713954536'], responseMode: 'sync', sessionId: sid },
    });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({
      sourceUrl: 'https://example.com/docs/report.pdf',
      context: '[simulated extract of report.pdf]',
      mimeType: 'application/pdf',
      actionStatus: 'completed',
      failedReason: null,
    });
    expect(r.json.data.url.startsWith(sim.url)).toBe(true);
    const q = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('what is in it?', { responseMode: 'sync' }) });
    expect(q.json.data.answer).toContain('Attached: report.pdf');
    const text = await request(r.json.data.extractedTextUrl as string);
    expect(await text.body.text()).toBe('[simulated extract of report.pdf]');
  });

  it('500 errors.no.executable.plugin.found for empty plugins', async () => {
    const r = await call('POST', '/media/v1/public/file', { body: { url: 'https://example.com/a.png', plugins: [], responseMode: 'sync' } });
    expect(r.status).toBe(500);
    expect(r.json.message).toBe('errors.no.executable.plugin.found');
  });

  /** POST a multipart upload: the text fields first, then the file. */
  async function rawUpload(fields: Array<[string, string]>, file: { name: string; type: string; data: Buffer }) {
    const boundary = 'simtestboundary42';
    const body = Buffer.concat([
      ...fields.map(([name, value]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`),
      file.data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await request(`${sim.url}/media/v1/public/file/raw`, {
      method: 'POST',
      headers: { 'user-agent': UA, apikey: 'k1', 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    return { status: res.statusCode, json: (await res.body.json()) as { data: Record<string, unknown>; message?: string } };
  }
  const sha12 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex').slice(0, 12);
  const AUDIO_PLUGIN = 'plugin-1713958830';

  it('accepts a raw multipart upload', async () => {
    const sid = await newSession();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const r = await rawUpload(
      [
        ['sessionId', sid],
        ['responseMode', 'sync'],
      ],
      { name: 'cat.png', type: 'image/png', data: png },
    );
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ context: '[simulated extract of cat.png]', mimeType: 'image/png', sizeBytes: png.length, sessionId: sid });
    expect(sim.stats().mediaUploads).toBe(1);
  });

  it('the audio plugin answers a transcript fixed by the bytes, and the upload is recorded', async () => {
    const sid = await newSession();
    const wav = Buffer.concat([Buffer.from('RIFF\u0024\u0000\u0000\u0000WAVEfmt '), Buffer.alloc(16, 7)]);
    const fields: Array<[string, string]> = [
      ['name', 'voice.wav'],
      ['responseMode', 'sync'],
      ['sessionId', sid],
      ['plugins', AUDIO_PLUGIN],
    ];
    const r = await rawUpload(fields, { name: 'voice.wav', type: 'audio/wav', data: wav });
    expect(r.status).toBe(200);
    expect(r.json.data['context']).toBe(`[simulated transcript ${sha12(wav)}]`);
    const again = await rawUpload(fields, { name: 'voice.wav', type: 'audio/wav', data: wav });
    expect(again.json.data['context']).toBe(r.json.data['context']);
    const other = await rawUpload(fields, { name: 'voice.wav', type: 'audio/wav', data: Buffer.concat([wav, Buffer.from([1])]) });
    expect(other.json.data['context']).not.toBe(r.json.data['context']);
    expect(sim.stats().uploads[0]).toEqual({
      via: 'file',
      name: 'voice.wav',
      mimeType: 'audio/wav',
      plugins: [AUDIO_PLUGIN],
      sessionId: sid,
      sizeBytes: wav.length,
      context: `[simulated transcript ${sha12(wav)}]`,
    });
    const q = await call('POST', `/chat/v1/sessions/${sid}/query`, { body: queryBody('what was said?', { responseMode: 'sync' }) });
    expect(q.json.data.answer).toContain('Attached: voice.wav');
  });

  it('a URL upload with the audio plugin is transcribed from the URL (not fetched)', async () => {
    const url = 'https://example.com/talks/intro.mp3';
    const r = await call('POST', '/media/v1/public/file', { body: { url, plugins: [AUDIO_PLUGIN], responseMode: 'sync' } });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ context: `[simulated transcript ${sha12(url)}]`, mimeType: 'audio/mpeg' });
    expect(sim.stats().uploads).toEqual([expect.objectContaining({ via: 'url', name: 'intro.mp3', plugins: [AUDIO_PLUGIN], sessionId: null })]);
  });

  it('refuses plugins that are not media plugins, on both uploads', async () => {
    const json = await call('POST', '/media/v1/public/file', { body: { url: 'https://example.com/a.png', plugins: ['plugin-1713924030'], responseMode: 'sync' } });
    expect(json.status).toBe(400);
    expect(json.json.message).toBe('Invalid pluginId: plugin-1713924030');
    const raw = await rawUpload([['plugins', 'plugin-42']], { name: 'a.wav', type: 'audio/wav', data: Buffer.from('RIFF') });
    expect(raw.status).toBe(400);
    expect(raw.json.message).toBe('Invalid pluginId: plugin-42');
    expect(sim.stats()).toMatchObject({ mediaUploads: 0, uploads: [] });
  });
});

describe('control surface', () => {
  const ctl = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const r = await request(`${sim.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: r.statusCode, json: (await r.body.json()) as any };
  };

  it('steers keys, options, stats and reset over HTTP without an apikey', async () => {
    expect((await ctl('POST', '/__sim/keys/k2', { kind: 'http', status: 401, times: 1 })).status).toBe(200);
    expect((await call('POST', '/chat/v1/sessions', { key: 'k2', body: { externalUserId: 'u' } })).status).toBe(401);
    expect((await call('POST', '/chat/v1/sessions', { key: 'k2', body: { externalUserId: 'u' } })).status).toBe(201);

    expect((await ctl('POST', '/__sim/all-keys', { kind: 'http', status: 503, on: 'session' })).status).toBe(200);
    expect((await call('POST', '/chat/v1/sessions', { key: 'k3', body: { externalUserId: 'u' } })).status).toBe(503);
    expect((await ctl('POST', '/__sim/all-keys', { kind: 'ok' })).status).toBe(200);

    expect((await ctl('POST', '/__sim/options', { deltas: 2 })).status).toBe(200);
    expect((await ctl('GET', '/__sim/options')).json.deltas).toBe(2);
    const sid = await newSession();
    const frames = parseFrames((await streamRaw(sid, queryBody('two deltas please'))).raw);
    expect(frames.filter((f) => f.data.includes('"eventType":"fulfillment"'))).toHaveLength(2);

    const stats = await ctl('GET', '/__sim/stats');
    expect(stats.json.byKey.k2).toEqual({ sessions: 2, queries: 0, failures: 1 });
    expect(stats.json.queries).toBe(1);

    expect((await ctl('POST', '/__sim/reset')).status).toBe(200);
    const after = (await ctl('GET', '/__sim/stats')).json;
    expect(after.queries).toBe(0);
    expect(after.byKey).toEqual({});
    expect((await ctl('GET', '/__sim/options')).json.deltas).toBe(0);
  });

  it('rejects bad control bodies', async () => {
    expect((await ctl('POST', '/__sim/keys/k1', { kind: 'explode' })).status).toBe(400);
    expect((await ctl('POST', '/__sim/keys/k1', { kind: 'http' })).status).toBe(400);
    expect((await ctl('POST', '/__sim/options', { deltas: -1 })).status).toBe(400);
    expect((await ctl('POST', '/__sim/options', { keys: ['x'] })).status).toBe(400);
  });
});

describe('helpers', () => {
  it('splitDeltas never splits a surrogate pair and always joins back', () => {
    const text = '🎉a😀😀 b👍🏽c 你好🎉🎉';
    for (let n = 1; n <= 25; n++) {
      const parts = splitDeltas(text, n);
      expect(parts.join('')).toBe(text);
      for (const p of parts) expect(p).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const parts = splitDeltas(words);
    expect(parts.length).toBe(64);
    expect(parts.join('')).toBe(words);
    expect(splitDeltas('a b  ')).toEqual(['a', ' b  ']);
    expect(splitDeltas('')).toEqual([]);
  });

  it('splitPoint lands inside a multi-byte character', () => {
    const buf = Buffer.from('ab—c');
    const at = splitPoint(buf);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, at))).toThrow();
  });
});
