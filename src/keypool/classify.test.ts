import { describe, expect, it } from 'vitest';
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import { classifyFailure, describeFailure, isModelFailure, isSessionGone } from './classify.js';
import type { FailureClass } from './types.js';

const http = (status: number, extra: Partial<UpstreamFailureInit> = {}): UpstreamFailure =>
  new UpstreamFailure(`HTTP ${status}`, { kind: 'http', phase: 'query', status, ...extra });
const kind = (k: UpstreamFailureInit['kind']): UpstreamFailure => new UpstreamFailure(k, { kind: k, phase: 'stream' });

describe('classifyFailure', () => {
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
    expect(classifyFailure(failure)).toBe(expected);
  });
});

describe('isModelFailure / describeFailure', () => {
  it('a session gone is a 404 on the query route only', () => {
    expect(isSessionGone(http(404))).toBe(true);
    expect(isSessionGone(http(404, { phase: 'session' }))).toBe(false);
    expect(isSessionGone(http(410))).toBe(false);
    expect(isSessionGone(kind('network'))).toBe(false);
  });
  it('recognises model errors only', () => {
    expect(isModelFailure(http(500, { errorCode: 'model_error' }))).toBe(true);
    expect(isModelFailure(http(500, { errorCode: 'server_error' }))).toBe(false);
  });
  it.each([
    [http(401, { errorCode: 'unauthenticated' }), '401 unauthenticated'],
    [http(429), '429'],
    [http(403, { htmlBody: true }), '403 edge block'],
    [kind('connect_timeout'), 'connect_timeout'],
  ])('%#: %s', (failure, text) => {
    expect(describeFailure(failure)).toBe(text);
  });
});
