/**
 * Nothing heavy loads on the request path: what the gateway needs is loaded by startGateway, before it listens.
 * A synchronous load while streams are in flight stops all of them (the o200k tokenizer alone takes hundreds of
 * milliseconds), so the probe is the module cache itself, not a clock: the tokenizer is in it once the gateway
 * has started, and serving every kind of request that counts tokens adds no module to it. With tracing off (no
 * OTEL_* setting names an exporter) nothing of the OpenTelemetry SDK is in it at all.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const require = createRequire(import.meta.url);
/** the encoding's split pattern: what of the package the gateway's own counter (src/core/bpe-table.ts) loads */
const TOKENIZER = require.resolve('gpt-tokenizer/encodingParams/constants');
/** the package's table as a 2.2 MB JavaScript module: the gateway reads the same table from the data file instead */
const TABLE_MODULE = require.resolve('gpt-tokenizer/bpeRanks/o200k_base');
/** the package's encoder, which keeps the table as 200k strings and a Map: the gateway counts over one buffer */
const PACKAGE_ENCODER = require.resolve('gpt-tokenizer/GptEncoding');
const loaded = (): Set<string> => new Set(Object.keys(require.cache));

let stack: Stack;
let afterStart: Set<string>;
beforeAll(async () => {
  stack = await startStack();
  afterStart = loaded();
});
afterAll(async () => stack.close());

const post = async (path: string, body: unknown): Promise<string> => {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
};

describe('start-up loads', () => {
  it('the tokenizer is loaded once the gateway has started, before any request', () => {
    expect(afterStart.has(TOKENIZER)).toBe(true);
  });

  it('the token table is read from the data file, not loaded as a module (src/runtime/tiktoken-ranks.ts)', () => {
    expect(afterStart.has(TABLE_MODULE)).toBe(false);
  });

  it("the package's encoder is not loaded: the gateway counts with its own (src/core/bpe-table.ts)", () => {
    expect(afterStart.has(PACKAGE_ENCODER)).toBe(false);
  });

  it('requests that count tokens, streamed or not, in each API, load no module', async () => {
    const messages = [{ role: 'user', content: 'Say hi' }];
    // max_tokens below the answer's bytes: the limit is counted in tokens and the answer cut
    expect(await post('/v1/chat/completions', { model: 'gpt-4o', max_tokens: 5, messages })).toContain('"length"');
    expect(await post('/v1/chat/completions', { model: 'gpt-4o', max_tokens: 5, stream: true, messages })).toContain('[DONE]');
    await post('/v1/chat/completions', { model: 'gpt-4o', messages });
    await post('/v1/completions', { model: 'gpt-4o', max_tokens: 5, prompt: 'Say hi' });
    await post('/v1/responses', { model: 'gpt-4o', max_output_tokens: 5, input: 'Say hi', stream: true });
    await post('/v1/messages', { model: 'claude-3.7-sonnet', max_tokens: 5, messages });
    expect(await post('/v1/messages/count_tokens', { model: 'claude-3.7-sonnet', messages })).toContain('input_tokens');
    const added = [...loaded()].filter((m) => !afterStart.has(m));
    expect(added).toEqual([]);
  });

  it('with tracing off, nothing of the OpenTelemetry SDK is loaded, before or after requests', () => {
    // prom-client loads the API package by itself when it is installed (for exemplars): the API alone is no-ops
    const sdk = [...loaded()].filter((m) => m.includes('/@opentelemetry/') && !m.includes('/@opentelemetry/api/'));
    expect(sdk).toEqual([]);
  });
});
