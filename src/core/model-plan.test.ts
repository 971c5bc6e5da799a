import { describe, expect, it } from 'vitest';
import { createModelSettings } from './model-settings.js';
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import { createModelRouter } from '../ondemand/models.js';
import { DEFAULT_AUTO_ROUTES } from './auto-route.js';
import { GatewayError } from './errors.js';
import { afterFailure, createModelPlanner, fallBackAfterKeys, isEndpointRejection, parseFallbacks } from './model-plan.js';
import type { GatewayRequest } from './types.js';

const f = (init: Partial<UpstreamFailureInit> & { kind?: UpstreamFailureInit['kind'] }) =>
  new UpstreamFailure('x', { kind: 'http', phase: 'query', ...init });

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

describe('afterFailure (one attempt failed before the first byte)', () => {
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

describe('fallBackAfterKeys (every key allowed for this model failed)', () => {
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
    ['nothing tried', undefined, false],
  ])('%s → %s', (_n, failure, expected) => {
    expect(fallBackAfterKeys(failure, { hasNextModel: true })).toBe(expected);
    expect(fallBackAfterKeys(failure, { hasNextModel: false })).toBe(false);
  });

  it('isEndpointRejection only reads query-phase 400/404/422', () => {
    expect(isEndpointRejection(f({ status: 404, upstreamMessage: 'endpoint not found' }))).toBe(true);
    expect(isEndpointRejection(f({ status: 400, phase: 'session', upstreamMessage: 'endpoint' }))).toBe(false);
    expect(isEndpointRejection(f({ status: 500, upstreamMessage: 'endpoint' }))).toBe(false);
  });
});

describe('parseFallbacks', () => {
  it('reads model → chain, a string as a chain of one', () => {
    expect(parseFallbacks('{"a":["b"," c "],"d":"e"}')).toEqual({ a: ['b', 'c'], d: ['e'] });
    expect(parseFallbacks(' ')).toEqual({});
  });
  it.each(['[]', 'x', '{"a":[1]}', '{"a":[""]}'])('refuses %s', (raw) => {
    expect(() => parseFallbacks(raw)).toThrow();
  });
});

describe('createModelPlanner', () => {
  const router = createModelRouter({ defaultModel: 'gpt-4o', modelMap: { ghost: 'predefined-ghost' } });
  const strictRouter = createModelRouter({ defaultModel: 'gpt-4o', strict: true });
  const req = (model: string, extra: Partial<GatewayRequest> = {}): GatewayRequest => ({
    api: 'chat',
    requestedModel: model,
    stream: false,
    params: {},
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });
  const planner = createModelPlanner({
    router,
    defaultModel: 'gpt-4o',
    fallbacks: { 'claude-sonnet-4-6': ['claude-3.7-sonnet', 'no-such-model', 'predefined-claude-sonnet-4-6', 'gpt-4o'], 'gpt-4o': ['gpt-4.1'], ghost: ['gpt-4o-mini'], 'predefined-xai-grok4': ['gpt-4o'] },
    autoModelName: 'auto',
    autoRules: DEFAULT_AUTO_ROUTES,
    settings: () => createModelSettings({ 'gpt-4.1': { system_prompt: 'Be brief.', params: { temperature: 0.1 } } }),
    isInactive: (ep) => ep === 'predefined-claude-3.7-sonnet',
  });
  const models = (r: GatewayRequest) => planner.plan(r).map((s) => `${s.model}=${s.endpointId}`);

  it.each([
    // unknown fallbacks and duplicate endpoints left out; the inactive one skipped
    ['claude-sonnet-4-6', ['claude-sonnet-4-6=predefined-claude-sonnet-4-6', 'gpt-4o=predefined-openai-gpt4o']],
    ['Claude-Sonnet-4-6', ['claude-sonnet-4-6=predefined-claude-sonnet-4-6', 'gpt-4o=predefined-openai-gpt4o']],
    ['gpt-4o', ['gpt-4o=predefined-openai-gpt4o', 'gpt-4.1=predefined-openai-gpt4.1']],
    // a raw endpointId has the chain keyed by that endpointId (none here)
    ['predefined-openai-gpt4o', ['predefined-openai-gpt4o=predefined-openai-gpt4o']],
    ['predefined-xai-grok4', ['predefined-xai-grok4=predefined-xai-grok4', 'gpt-4o=predefined-openai-gpt4o']],
    // an unknown name is the default model, with the default's chain
    ['something-unknown', ['gpt-4o=predefined-openai-gpt4o', 'gpt-4.1=predefined-openai-gpt4.1']],
    ['ghost', ['ghost=predefined-ghost', 'gpt-4o-mini=predefined-openai-gpt4o-mini']],
    // an inactive endpoint with nothing after it is still tried
    ['claude-3.7-sonnet', ['claude-3.7-sonnet=predefined-claude-3.7-sonnet']],
  ])('%s → %j', (model, expected) => {
    expect(models(req(model))).toEqual(expected);
  });

  it('auto picks by the rules, then follows that model’s chain', () => {
    expect(models(req('auto', { tools: [{ name: 'f' }] }))).toEqual(['gpt-4.1=predefined-openai-gpt4.1']);
    expect(models(req('AUTO', { messages: [{ role: 'user', content: 'x', media: [{ kind: 'image', url: 'https://e.x/a.png' }] }] }))).toEqual([
      'gpt-4o=predefined-openai-gpt4o',
      'gpt-4.1=predefined-openai-gpt4.1',
    ]);
  });

  it('applies each model’s own settings', () => {
    const [first, second] = planner.plan(req('gpt-4o'));
    expect(first!.request.messages).toHaveLength(1);
    expect(second!.request.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(second!.request.params.temperature).toBe(0.1);
  });

  it('strict routing: an unknown first model is a 404', () => {
    const strict = createModelPlanner({ router: strictRouter, defaultModel: 'gpt-4o' });
    expect(() => strict.plan(req('nope'))).toThrow(GatewayError);
    expect(() => strict.plan(req('nope'))).toThrow(/does not exist/);
  });
});
