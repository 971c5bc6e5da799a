import { describe, expect, it } from 'vitest';
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import {
  decide,
  isEndpointRejection,
  isModelFailure,
  isSessionGone,
  judgeKey,
  sameKeyWaitMs,
  type CircuitCount,
  type FailureClass,
  type FailureSituation,
  type SameKeyRetries,
} from './failure-policy.js';

const http = (status: number, extra: Partial<UpstreamFailureInit> = {}): UpstreamFailure =>
  new UpstreamFailure(`HTTP ${status}`, { kind: 'http', phase: 'query', status, ...extra });
const kind = (k: UpstreamFailureInit['kind']): UpstreamFailure => new UpstreamFailure(k, { kind: k, phase: 'stream' });
const f = (init: Partial<UpstreamFailureInit> & { kind?: UpstreamFailureInit['kind'] }) => new UpstreamFailure('x', { kind: 'http', phase: 'query', ...init });

/** Right after one failed attempt: keys unknown, attempts and time to spare. */
const fresh = (extra: Partial<FailureSituation> = {}): FailureSituation => ({
  hasNextModel: false,
  msLeft: 10_000,
  attemptsLeft: 2,
  answerStarted: false,
  keysTried: 1,
  ...extra,
});

describe('the key: class (the README failure table and every classified case)', () => {
  const cases: [string, UpstreamFailure, FailureClass][] = [
    ['401 unauthenticated', http(401, { errorCode: 'unauthenticated' }), 'auth'],
    ['402 payment required', http(402), 'auth'],
    ['403 JSON unauthorized', http(403, { errorCode: 'unauthorized' }), 'auth'],
    ['403 HTML edge block', http(403, { htmlBody: true }), 'edge'],
    ['403 Cloudflare 1010 text', http(403, { upstreamMessage: 'error code: 1010' }), 'edge'],
    ['403 HTML mentioning billing is still the edge', http(403, { htmlBody: true, upstreamMessage: 'billing' }), 'edge'],
    ['429 plain', http(429, { errorCode: 'rate_limit_exceeded' }), 'rate'],
    ['429 per-minute quota is a rate limit', http(429, { upstreamMessage: 'quota of 100 calls per minute exceeded' }), 'rate'],
    ['429 out of credits', http(429, { upstreamMessage: 'Insufficient credits to run this query' }), 'auth'],
    ['400 with insufficient balance text', http(400, { upstreamMessage: 'insufficient_balance' }), 'auth'],
    ['500 quota exhausted text', http(500, { upstreamMessage: 'monthly quota exhausted' }), 'auth'],
    ['500 server_error', http(500, { errorCode: 'server_error' }), 'transient'],
    ['500 model_error', http(500, { errorCode: 'model_error' }), 'transient'],
    ['502 bad gateway', http(502), 'transient'],
    ['503 resource_unavailable', http(503, { errorCode: 'resource_unavailable' }), 'transient'],
    ['504 plugin timeout', http(504, { errorCode: 'plugin_execution_timeout' }), 'transient'],
    ['408', http(408), 'transient'],
    ['connect timeout', kind('connect_timeout'), 'transient'],
    ['first byte timeout', kind('first_byte_timeout'), 'transient'],
    ['idle timeout', kind('idle_timeout'), 'transient'],
    ['network reset', kind('network'), 'transient'],
    ['stream error', kind('stream_error'), 'transient'],
    ['client aborted', kind('client_aborted'), 'client'],
    ['400 invalid_request', http(400, { errorCode: 'invalid_request' }), 'client'],
    ['400 context_length_exceeded', http(400, { errorCode: 'context_length_exceeded' }), 'client'],
    ['500 context_length_exceeded', http(500, { errorCode: 'context_length_exceeded' }), 'client'],
    ['404 on session creation', http(404, { errorCode: 'not_found', phase: 'session' }), 'client'],
    ['404 on the query route: the session is gone upstream', http(404, { errorCode: 'not_found' }), 'transient'],
    ['413', http(413), 'client'],
    ['422', http(422), 'client'],
    ['other 4xx', http(418), 'client'],
  ];
  it.each(cases)('%s', (_name, failure, expected) => {
    expect(judgeKey(failure).cls).toBe(expected);
  });
});

describe('the key: punished at all, and what the circuit counts', () => {
  // the pool's punishment cases: a 401 kills, a 429 cools, a client error does nothing, model errors and a
  // forgotten session never cool a key, 5xx and timeouts count toward the transient window
  it.each<[string, UpstreamFailure, boolean, CircuitCount]>([
    ['401', http(401, { errorCode: 'unauthenticated' }), true, 'other'],
    ['429', http(429, { errorCode: 'rate_limit_exceeded' }), true, 'rate'],
    ['400 invalid_request', http(400, { errorCode: 'invalid_request' }), false, 'ignored'],
    ['500 model_error', http(500, { errorCode: 'model_error' }), false, 'ignored'],
    ['404 on the query route', http(404, { phase: 'query' }), false, 'ignored'],
    ['502', http(502), true, 'transient'],
    ['503 resource_unavailable', http(503, { errorCode: 'resource_unavailable' }), true, 'transient'],
    ['first byte timeout', kind('first_byte_timeout'), true, 'transient'],
    ['403 HTML edge block', http(403, { htmlBody: true }), false, 'ignored'],
    ['client aborted', kind('client_aborted'), false, 'ignored'],
  ])('%s → punish %s, circuit %s', (_name, failure, punish, circuit) => {
    expect(judgeKey(failure)).toMatchObject({ punish, circuit });
  });

  it('carries Retry-After to the key', () => {
    expect(judgeKey(http(429, { retryAfterSec: 30 })).retryAfterSec).toBe(30);
    expect(judgeKey(http(502)).retryAfterSec).toBeUndefined();
  });

  it.each([
    [http(401, { errorCode: 'unauthenticated' }), '401 unauthenticated'],
    [http(429), '429'],
    [http(403, { htmlBody: true }), '403 edge block'],
    [kind('connect_timeout'), 'connect_timeout'],
    [http(500, { errorCode: 'model_error' }), '500 model_error'],
    [http(404, { phase: 'query' }), '404'],
  ])('%#: reason %s', (failure, text) => {
    expect(judgeKey(failure).reason).toBe(text);
  });
});

describe('isModelFailure / isSessionGone / isEndpointRejection', () => {
  it('a session gone is a 404 on the query route only, and asks for a fresh session', () => {
    expect(isSessionGone(http(404))).toBe(true);
    expect(isSessionGone(http(404, { phase: 'session' }))).toBe(false);
    expect(isSessionGone(http(410))).toBe(false);
    expect(isSessionGone(kind('network'))).toBe(false);
    expect(decide(http(404), fresh()).freshSession).toBe(true);
    expect(decide(http(404, { phase: 'session' }), fresh()).freshSession).toBe(false);
    expect(decide(http(502), fresh()).freshSession).toBe(false);
  });
  it('recognises model errors only', () => {
    expect(isModelFailure(http(500, { errorCode: 'model_error' }))).toBe(true);
    expect(isModelFailure(http(500, { errorCode: 'server_error' }))).toBe(false);
  });
  it('isEndpointRejection only reads query-phase 400/404/422', () => {
    expect(isEndpointRejection(f({ status: 404, upstreamMessage: 'endpoint not found' }))).toBe(true);
    expect(isEndpointRejection(f({ status: 400, phase: 'session', upstreamMessage: 'endpoint' }))).toBe(false);
    expect(isEndpointRejection(f({ status: 500, upstreamMessage: 'endpoint' }))).toBe(false);
  });
});

const MODEL_ERROR = f({ status: 500, errorCode: 'model_error' });
const MODEL_ERROR_STREAM = f({ kind: 'stream_error', phase: 'stream', errorCode: 'model_error' });
const BAD_ENDPOINT = f({ status: 400, errorCode: 'invalid_request', upstreamMessage: 'Invalid endpointId: predefined-x' });
const INACTIVE = f({ status: 400, upstreamMessage: 'this model is inactive' });
const BAD_FIELD = f({ status: 400, errorCode: 'invalid_request', upstreamMessage: 'temperature must be between 0 and 2' });
const CONTEXT = f({ status: 400, errorCode: 'context_length_exceeded', upstreamMessage: 'the model context is too small' });
const SERVER_500 = f({ status: 500, errorCode: 'server_error' });
const BAD_GATEWAY = f({ status: 502 });
const CUT = f({ kind: 'stream_error', phase: 'stream' });
const AUTH = f({ status: 401, errorCode: 'unauthenticated' });
const RATE = f({ status: 429 });
const TIMEOUT = f({ kind: 'first_byte_timeout' });
const NETWORK = f({ kind: 'network' });
const MEDIA_500 = f({ status: 500, phase: 'media' });
const MEDIA_400 = f({ status: 400, phase: 'media', upstreamMessage: 'bad model file' });
const ABORTED = f({ kind: 'client_aborted' });

/** The step after one failed attempt, in the words of the old table ('retry_key' is another key). */
function afterFailure(failure: UpstreamFailure, ctx: { hasNextModel: boolean }): string {
  const next = decide(failure, fresh(ctx)).next.do;
  return next === 'another_key' ? 'retry_key' : next;
}

/** Whether the plan moves on once this model's keys ran out (the leaser had none left). */
function fallBackAfterKeys(failure: UpstreamFailure, ctx: { hasNextModel: boolean }): boolean {
  return decide(failure, fresh({ ...ctx, keysLeft: 0, keysTried: 3 })).next.do === 'next_model';
}

describe('the request: one attempt failed before the first byte', () => {
  it.each([
    ['model_error', MODEL_ERROR, 'next_model', 'retry_key'],
    ['model_error in the stream', MODEL_ERROR_STREAM, 'next_model', 'retry_key'],
    ['400 invalid endpoint', BAD_ENDPOINT, 'next_model', 'fail'],
    ['400 inactive model', INACTIVE, 'next_model', 'fail'],
    ['400 bad field', BAD_FIELD, 'fail', 'fail'],
    ['context_length_exceeded', CONTEXT, 'fail', 'fail'],
    ['500 server_error', SERVER_500, 'retry_key', 'retry_key'],
    ['502', BAD_GATEWAY, 'retry_key', 'retry_key'],
    ['stream cut', CUT, 'retry_key', 'retry_key'],
    ['401', AUTH, 'retry_key', 'retry_key'],
    ['429', RATE, 'retry_key', 'retry_key'],
    ['timeout', TIMEOUT, 'retry_key', 'retry_key'],
    ['media upload 500', MEDIA_500, 'retry_key', 'retry_key'],
    ['media upload 400', MEDIA_400, 'fail', 'fail'],
    ['client gone', ABORTED, 'fail', 'fail'],
  ])('%s → %s with a next model, %s without', (_n, failure, withNext, without) => {
    expect(afterFailure(failure, { hasNextModel: true })).toBe(withNext);
    expect(afterFailure(failure, { hasNextModel: false })).toBe(without);
  });
});

describe('the request: every key allowed for this model failed', () => {
  it.each([
    ['model_error', MODEL_ERROR, true],
    ['500 from every key', SERVER_500, true],
    ['502 from every key', BAD_GATEWAY, true],
    ['a stream cut on every key', CUT, true],
    ['401', AUTH, false],
    ['429', RATE, false],
    ['timeout', TIMEOUT, false],
    ['network', NETWORK, false],
    ['media upload 500', MEDIA_500, false],
  ])('%s → %s', (_n, failure, expected) => {
    expect(fallBackAfterKeys(failure, { hasNextModel: true })).toBe(expected);
    expect(fallBackAfterKeys(failure, { hasNextModel: false })).toBe(false);
  });

  it('attempts used up count as keys run out', () => {
    expect(decide(SERVER_500, fresh({ attemptsLeft: 0, hasNextModel: true })).next.do).toBe('next_model');
    expect(decide(AUTH, fresh({ attemptsLeft: 0, hasNextModel: true })).next.do).toBe('fail');
  });
});

describe('the request: the retry deadline', () => {
  it('no other key once it passed', () => {
    expect(decide(BAD_GATEWAY, fresh({ msLeft: -1 })).next).toMatchObject({ do: 'fail', error: { status: 502 } });
    expect(decide(BAD_GATEWAY, fresh({ msLeft: 0 })).next.do).toBe('another_key');
  });
  it('no next model once it passed: the error counts the most keys any model tried', () => {
    const next = decide(MODEL_ERROR, fresh({ hasNextModel: true, msLeft: -1, keysTried: 1, keysTriedMost: 3 })).next;
    expect(next).toMatchObject({ do: 'fail', error: { status: 502, message: expect.stringContaining('(after trying 3 upstream keys)') } });
    const keysOut = decide(SERVER_500, fresh({ hasNextModel: true, msLeft: -1, keysTried: 2, keysTriedMost: 2 })).next;
    expect(keysOut).toMatchObject({ do: 'fail', error: { message: expect.stringContaining('(after trying 2 upstream keys)') } });
  });
});

describe('the client: the error when the policy gives up (texts, statuses, codes, Retry-After)', () => {
  const failWith = (failure: UpstreamFailure, keysTried = 1) => {
    const next = decide(failure, fresh({ keysLeft: 0, keysTried })).next;
    if (next.do !== 'fail') throw new Error(`expected fail, got ${next.do}`);
    return next.error;
  };
  it.each<[string, UpstreamFailure, number, Record<string, unknown>]>([
    [
      'auth',
      AUTH,
      3,
      {
        status: 503,
        type: 'api_error',
        code: 'upstream_key_rejected',
        retryAfterSec: 30,
        message: "the upstream refused this gateway's OnDemand API key (after trying 3 upstream keys); the gateway operator must check its keys",
      },
    ],
    [
      'rate with Retry-After',
      http(429, { retryAfterSec: 7 }),
      1,
      { status: 429, type: 'rate_limit_error', code: 'upstream_rate_limited', retryAfterSec: 7, message: 'the upstream is rate-limiting this gateway; retry later' },
    ],
    ['rate without', RATE, 2, { status: 429, retryAfterSec: 10, message: 'the upstream is rate-limiting this gateway (after trying 2 upstream keys); retry later' }],
    [
      'edge',
      http(403, { htmlBody: true }),
      1,
      { status: 502, type: 'api_error', code: 'upstream_edge_blocked', retryAfterSec: 30, message: "the upstream's edge blocked the request" },
    ],
    [
      'transient with upstream text',
      f({ status: 503, errorCode: 'resource_unavailable', upstreamMessage: 'busy' }),
      1,
      { status: 502, code: 'resource_unavailable', retryAfterSec: 2, message: 'the upstream failed: x: busy' },
    ],
    ['timeout', TIMEOUT, 1, { status: 504, code: 'upstream_timeout', retryAfterSec: 2 }],
    ['network', NETWORK, 1, { status: 502, code: 'upstream_error', retryAfterSec: 2 }],
    [
      'client 400',
      BAD_FIELD,
      1,
      {
        status: 400,
        type: 'invalid_request_error',
        code: 'invalid_request',
        shouldRetry: false,
        message: 'the upstream rejected the request: temperature must be between 0 and 2',
      },
    ],
    ['client 413 keeps its status', http(413), 1, { status: 413, code: 'upstream_invalid_request', message: 'the upstream rejected the request (HTTP 413)' }],
    ['client 422 keeps its status', http(422), 1, { status: 422 }],
    ['the client left', ABORTED, 1, { status: 499, type: 'invalid_request_error', code: 'client_closed_request', message: 'the client closed the request' }],
  ])('%s', (_n, failure, keysTried, expected) => {
    expect(failWith(failure, keysTried)).toMatchObject(expected);
  });

  it('after the answer started: nothing is retried, the stream error says so', () => {
    const started = fresh({ answerStarted: true, hasNextModel: true, keysLeft: 5 });
    expect(decide(f({ kind: 'stream_error', phase: 'stream', upstreamMessage: 'boom', errorCode: 'model_error' }), started).next).toMatchObject({
      do: 'fail',
      error: { status: 502, type: 'api_error', code: 'model_error', message: 'the upstream stream failed after the answer started: boom' },
    });
    expect(decide(kind('idle_timeout'), started).next).toMatchObject({
      do: 'fail',
      error: { code: 'upstream_idle_timeout', message: 'the upstream stream failed after the answer started (idle_timeout)' },
    });
    expect(decide(kind('network'), started).next).toMatchObject({ do: 'fail', error: { code: 'upstream_stream_interrupted' } });
  });
});

describe('the request: same-key retries (when no other key is left)', () => {
  const retries = (extra: Partial<SameKeyRetries> = {}): SameKeyRetries => ({ left: 2, made: 0, baseDelayMs: 200, maxDelayMs: 2_000, random: () => 0.5, ...extra });
  const oneKey = (extra: Partial<FailureSituation> = {}) => fresh({ keysLeft: 0, sameKey: retries(), ...extra });

  it.each<[string, UpstreamFailure, Partial<FailureSituation>, unknown]>([
    ['off without settings: today behaviour', BAD_GATEWAY, { sameKey: undefined }, { do: 'fail' }],
    ['502: backoff with equal jitter (base 200, random 0.5 → 150)', BAD_GATEWAY, {}, { do: 'same_key', waitMs: 150 }],
    ['502 on the third try: the backoff doubled twice (800 → 600)', BAD_GATEWAY, { sameKey: retries({ made: 2 }) }, { do: 'same_key', waitMs: 600 }],
    ['the backoff is capped at the max delay', BAD_GATEWAY, { sameKey: retries({ made: 10, random: () => 1 }) }, { do: 'same_key', waitMs: 2_000 }],
    ['429 with a Retry-After that fits: exactly it', http(429, { retryAfterSec: 1 }), {}, { do: 'same_key', waitMs: 1_000 }],
    ['429 with a Retry-After past the max delay: give up', http(429, { retryAfterSec: 5 }), {}, { do: 'fail' }],
    ['429 without Retry-After: the backoff', RATE, {}, { do: 'same_key', waitMs: 150 }],
    ['a wait longer than the time left: give up', http(429, { retryAfterSec: 1 }), { msLeft: 500 }, { do: 'fail' }],
    ['a vanished session: again at once (on a fresh session)', http(404), {}, { do: 'same_key', waitMs: 0 }],
    ['auth is the key itself: never', AUTH, {}, { do: 'fail' }],
    ['edge: never', http(403, { htmlBody: true }), {}, { do: 'fail' }],
    ['client error: never', BAD_FIELD, {}, { do: 'fail' }],
    ['no retries left', BAD_GATEWAY, { sameKey: retries({ left: 0 }) }, { do: 'fail' }],
    ['no attempts left', BAD_GATEWAY, { attemptsLeft: 0 }, { do: 'fail' }],
    ['other keys left: another key first', BAD_GATEWAY, { keysLeft: undefined }, { do: 'another_key' }],
    ['a model error with a next model: the next model first', MODEL_ERROR, { hasNextModel: true }, { do: 'next_model' }],
    ['a 5xx every key got, with a next model, no retries left: the next model', SERVER_500, { hasNextModel: true, sameKey: retries({ left: 0 }) }, { do: 'next_model' }],
  ])('%s', (_n, failure, situation, expected) => {
    expect(decide(failure, oneKey(situation)).next).toMatchObject(expected as Record<string, unknown>);
  });

  it('the jitter comes from the injected random', () => {
    const at = (r: number) => sameKeyWaitMs(BAD_GATEWAY, 'transient', retries({ made: 1, random: () => r }));
    expect([at(0), at(0.25), at(0.999)]).toEqual([200, 250, 400]);
  });
});
