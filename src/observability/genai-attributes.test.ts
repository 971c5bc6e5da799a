import { describe, expect, it } from 'vitest';
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import type { ClientApi, GatewayRequest, Message } from '../core/types.js';
import {
  attemptAttributes,
  attemptEnd,
  attemptSpanName,
  completionAttributes,
  completionSpanName,
  httpRequestAttributes,
  httpSpanName,
  inputMessages,
  operationName,
  outputMessages,
  requestEndAttributes,
  requestFailed,
  type RequestFacts,
} from './genai-attributes.js';

const request = (over: Partial<GatewayRequest> = {}): GatewayRequest => ({
  api: 'chat',
  requestedModel: 'gpt-4o',
  messages: [{ role: 'user', content: 'hi' }],
  params: {},
  stream: false,
  ...over,
});

const failure = (init: Partial<UpstreamFailureInit>): UpstreamFailure => new UpstreamFailure('failed', { kind: 'http', phase: 'query', ...init });

describe('operationName', () => {
  it.each<[ClientApi, string]>([
    ['chat', 'chat'],
    ['responses', 'chat'],
    ['messages', 'chat'],
    ['completions', 'text_completion'],
    ['gemini', 'generate_content'],
  ])('%s -> %s', (api, name) => {
    expect(operationName(api)).toBe(name);
  });
});

describe('completionAttributes', () => {
  it.each<[string, Partial<GatewayRequest>, Record<string, unknown>]>([
    [
      'a bare chat request',
      {},
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'ondemand',
        'gen_ai.system': 'ondemand',
        'gen_ai.request.model': 'gpt-4o',
        'gateway.api': 'chat',
        'gateway.stream': false,
      },
    ],
    [
      'every parameter',
      { stream: true, params: { maxTokens: 100, temperature: 0.2, topP: 0.9, stop: ['END'], presencePenalty: 0.5, frequencyPenalty: 1 } },
      {
        'gateway.stream': true,
        'gen_ai.request.max_tokens': 100,
        'gen_ai.request.temperature': 0.2,
        'gen_ai.request.top_p': 0.9,
        'gen_ai.request.stop_sequences': ['END'],
        'gen_ai.request.presence_penalty': 0.5,
        'gen_ai.request.frequency_penalty': 1,
      },
    ],
    [
      'a legacy completion',
      { api: 'completions', requestedModel: 'claude-3.7-sonnet' },
      { 'gen_ai.operation.name': 'text_completion', 'gen_ai.request.model': 'claude-3.7-sonnet' },
    ],
  ])('%s', (_name, over, expected) => {
    expect(completionAttributes(request(over))).toMatchObject(expected);
  });

  it('an empty stop list and unset parameters add nothing', () => {
    const attrs = completionAttributes(request({ params: { stop: [] } }));
    expect(Object.keys(attrs).filter((k) => k.startsWith('gen_ai.request.') && k !== 'gen_ai.request.model')).toEqual([]);
  });

  it('names the span after the operation and the requested model', () => {
    expect(completionSpanName(request({ api: 'gemini', requestedModel: 'gemini-2.5-flash' }))).toBe('generate_content gemini-2.5-flash');
  });
});

describe('requestEndAttributes and requestFailed', () => {
  const usage = { inputTokens: 12, outputTokens: 34, totalTokens: 46, estimated: false };
  it.each<[string, RequestFacts, number, Record<string, unknown>, boolean]>([
    [
      'an answered request',
      { answeredBy: 'gpt-4o', endpoint: 'predefined-openai-gpt4o', attempts: 2, usage, finishReason: 'stop', outcome: 'ok', clientName: 'team-a' },
      200,
      {
        'http.response.status_code': 200,
        'gen_ai.response.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 34,
        'gateway.usage.estimated': false,
        'gen_ai.response.finish_reasons': ['stop'],
        'ondemand.endpoint_id': 'predefined-openai-gpt4o',
        'gateway.attempts': 2,
        'gateway.outcome': 'ok',
        'gateway.client': 'team-a',
      },
      false,
    ],
    ['a refused request: the error code, not a server error', { errorCode: 'model_not_found' }, 404, { 'http.response.status_code': 404, 'error.type': 'model_not_found' }, false],
    ['no key left: a server error', { attempts: 3, errorCode: 'upstream_unavailable' }, 503, { 'error.type': 'upstream_unavailable', 'gateway.attempts': 3 }, true],
    ['a status without a code', {}, 502, { 'error.type': '502' }, true],
    ['a stream that failed after its 200', { outcome: 'error', errorCode: 'upstream_error' }, 200, { 'error.type': 'upstream_error', 'gateway.outcome': 'error' }, true],
    ['a stream the client left', { outcome: 'client_closed' }, 200, { 'gateway.outcome': 'client_closed' }, false],
  ])('%s', (_name, facts, status, expected, failed) => {
    const attrs = requestEndAttributes(facts, status);
    expect(attrs).toMatchObject(expected);
    if (!('error.type' in expected)) expect(attrs['error.type']).toBeUndefined();
    expect(requestFailed(facts, status)).toBe(failed);
  });
});

describe('HTTP attributes', () => {
  const view = { method: 'POST', route: '/v1/chat/completions', path: '/v1/chat/completions', clientAddress: '127.0.0.1', userAgent: 'OpenAI/JS 6.0', httpVersion: '1.1' };
  it('carries the HTTP conventions of a server span', () => {
    expect(httpRequestAttributes(view)).toEqual({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'url.path': '/v1/chat/completions',
      'url.scheme': 'http',
      'client.address': '127.0.0.1',
      'user_agent.original': 'OpenAI/JS 6.0',
      'network.protocol.version': '1.1',
    });
    expect(httpSpanName(view)).toBe('POST /v1/chat/completions');
  });
  it('an unmatched URL has no route: the span is named by its method', () => {
    const attrs = httpRequestAttributes({ ...view, route: undefined, userAgent: undefined });
    expect(attrs['http.route']).toBeUndefined();
    expect(attrs['user_agent.original']).toBeUndefined();
    expect(httpSpanName({ method: 'GET', route: undefined })).toBe('GET');
  });
});

describe('attempt spans', () => {
  const start = { number: 2, keyFingerprint: 'k:0123abcd', model: 'auto', endpointId: 'predefined-openai-gpt4o' };
  it.each([
    ['https://api.on-demand.io', 'api.on-demand.io', 443],
    ['http://127.0.0.1:4010', '127.0.0.1', 4010],
    ['http://upstream.internal', 'upstream.internal', 80],
  ])('start: %s', (origin, address, port) => {
    expect(attemptAttributes(start, new URL(origin))).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'ondemand',
      'gen_ai.system': 'ondemand',
      'gen_ai.request.model': 'predefined-openai-gpt4o',
      'gateway.model': 'auto',
      'gateway.attempt.number': 2,
      'gateway.key.fingerprint': 'k:0123abcd',
      'server.address': address,
      'server.port': port,
    });
    expect(attemptSpanName(start)).toBe('chat predefined-openai-gpt4o');
  });

  it.each<[string, Parameters<typeof attemptEnd>[0], Record<string, unknown>, string | undefined]>([
    ['a success', { ok: true, latencyMs: 5 }, { 'gateway.attempt.outcome': 'ok' }, undefined],
    [
      'a dead key',
      { ok: false, failure: failure({ status: 401, errorCode: 'unauthenticated' }) },
      {
        'gateway.attempt.outcome': 'failed',
        'gateway.failure.class': 'auth',
        'gateway.failure.reason': '401 unauthenticated',
        'gateway.failure.phase': 'query',
        'error.type': '401',
        'http.response.status_code': 401,
        'ondemand.error_code': 'unauthenticated',
      },
      '401 unauthenticated',
    ],
    [
      'a rate limit',
      { ok: false, failure: failure({ status: 429, phase: 'session' }) },
      { 'gateway.failure.class': 'rate', 'gateway.failure.phase': 'session', 'error.type': '429' },
      '429',
    ],
    [
      'a timeout',
      { ok: false, failure: failure({ kind: 'first_byte_timeout' }) },
      { 'gateway.attempt.outcome': 'failed', 'gateway.failure.class': 'transient', 'error.type': 'first_byte_timeout' },
      'first_byte_timeout',
    ],
    [
      'the client hung up: not an error',
      { ok: false, failure: failure({ kind: 'client_aborted', phase: 'stream' }) },
      { 'gateway.attempt.outcome': 'client_closed', 'gateway.failure.class': 'client', 'error.type': 'client_aborted' },
      undefined,
    ],
  ])('end: %s', (_name, outcome, expected, error) => {
    const end = attemptEnd(outcome);
    expect(end.attributes).toMatchObject(expected);
    expect(end.error).toBe(error);
  });
});

describe('message content', () => {
  it('input: the conversation by role and part, media by URL without inline bytes', () => {
    const messages: Message[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is here?', media: [{ kind: 'image', url: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png' }] },
      { role: 'user', content: '', media: [{ kind: 'file', url: 'https://example.com/a.pdf' }] },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] },
      { role: 'tool', content: '42', toolCallId: 'call_1' },
    ];
    expect(JSON.parse(inputMessages(messages))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      {
        role: 'user',
        parts: [
          { type: 'text', content: 'What is here?' },
          { type: 'uri', modality: 'image', mime_type: 'image/png', uri: 'data:' },
        ],
      },
      { role: 'user', parts: [{ type: 'uri', modality: 'file', uri: 'https://example.com/a.pdf' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '42' }] },
    ]);
  });

  it.each([
    [
      'text',
      { text: 'Hi.', reasoning: '', toolCalls: [], finishReason: 'stop' as const },
      [{ role: 'assistant', parts: [{ type: 'text', content: 'Hi.' }], finish_reason: 'stop' }],
    ],
    [
      'reasoning and tool calls',
      { text: '', reasoning: 'Think.', toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }], finishReason: 'tool_calls' as const },
      [
        {
          role: 'assistant',
          parts: [
            { type: 'reasoning', content: 'Think.' },
            { type: 'tool_call', id: 'c', name: 'f', arguments: '{}' },
          ],
          finish_reason: 'tool_calls',
        },
      ],
    ],
    [
      'an answer cut short',
      { text: 'Par', reasoning: '', toolCalls: [], finishReason: null },
      [{ role: 'assistant', parts: [{ type: 'text', content: 'Par' }], finish_reason: 'error' }],
    ],
  ])('output: %s', (_name, answer, expected) => {
    expect(JSON.parse(outputMessages(answer))).toEqual(expected);
  });
});
