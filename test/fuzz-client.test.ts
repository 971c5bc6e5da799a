/**
 * Property tests of the client side: whatever a client sends to /v1/chat/completions (any JSON, chat-like objects
 * with wrong types and odd values, non-JSON bytes, wrong content types, huge and deeply nested values, garbage
 * header lines on a raw socket), the gateway never answers 5xx, every refusal is an OpenAI-shaped 4xx, every
 * success is a well-formed chat completion or stream, and the process keeps serving.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkChatStream, isChatCompletion, isOpenAIError, parseJson } from './fault-helpers.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: { LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: String(256 * 1024), HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000', MAX_MESSAGES: '64' },
  });
});

afterAll(async () => {
  await stack?.close();
});

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

async function send(payload: string | Buffer, contentType: string | undefined): Promise<Answer> {
  const res = await stack.gateway.app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, ...(contentType !== undefined ? { 'content-type': contentType } : {}) },
    payload,
  });
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: res.body };
}

/** The property every answer must have. */
function assertWellFormed(a: Answer, what: string): void {
  const context = `${what} -> ${a.status} ${a.body.slice(0, 300)}`;
  expect(a.status, context).toBeLessThan(500);
  if (a.status === 200) {
    if (a.contentType.startsWith('text/event-stream')) expect(checkChatStream(a.body).ok, context).toBe(true);
    else expect(isChatCompletion(parseJson(a.body)), context).toBe(true);
    return;
  }
  expect(a.status, context).toBeGreaterThanOrEqual(400);
  expect(a.contentType, context).toMatch(/^application\/json/);
  expect(isOpenAIError(parseJson(a.body)), context).toBe(true);
}

const odd = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(1e308, -1e308, -0, 0.1, 2 ** 53 + 1, '', ' ', '\u0000', '\ud800', '💥'.repeat(50), 'a'.repeat(20_000), [], {}, null, true),
);
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', '\n', '\u0000\u0001', '\ud83d', 'x'.repeat(5000)));
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(text, odd) }),
  fc.record({ type: fc.constantFrom('image_url', 'input_audio', 'file', 'video', ''), image_url: odd }),
  odd,
);
const message = fc.oneof(
  fc.record(
    {
      role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool', 'developer', 'function'), text, odd),
      content: fc.oneof(text, fc.array(part, { maxLength: 4 }), odd),
      name: fc.oneof(text, odd),
      tool_calls: fc.oneof(
        odd,
        fc.array(fc.record({ id: text, type: fc.constant('function'), function: fc.record({ name: text, arguments: fc.oneof(text, odd) }) }), { maxLength: 2 }),
      ),
      tool_call_id: fc.oneof(text, odd),
    },
    { requiredKeys: ['role'] },
  ),
  odd,
);
const chatLike = fc.record(
  {
    model: fc.oneof(fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet', ''), text, odd),
    messages: fc.oneof(fc.array(message, { maxLength: 6 }), odd),
    stream: fc.oneof(fc.boolean(), odd),
    stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), odd) }), odd),
    temperature: fc.oneof(fc.double(), odd),
    top_p: fc.oneof(fc.double(), odd),
    max_tokens: fc.oneof(fc.integer(), odd),
    max_completion_tokens: fc.oneof(fc.integer(), odd),
    n: fc.oneof(fc.integer({ min: -2, max: 4 }), odd),
    stop: fc.oneof(text, fc.array(text, { maxLength: 6 }), odd),
    tools: fc.oneof(odd, fc.array(fc.record({ type: fc.constant('function'), function: fc.record({ name: text, parameters: odd }) }), { maxLength: 2 })),
    tool_choice: fc.oneof(fc.constantFrom('auto', 'none', 'required'), odd),
    response_format: fc.oneof(fc.record({ type: fc.constantFrom('text', 'json_object', 'json_schema', 'xml') }), odd),
    reasoning_effort: fc.oneof(fc.constantFrom('low', 'medium', 'high', 'minimal'), odd),
    __proto__: odd,
  },
  { requiredKeys: [] },
);

describe('fuzz: client bodies', () => {
  it('any JSON value as the body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        assertWellFormed(await send(JSON.stringify(value), 'application/json'), JSON.stringify(value).slice(0, 200));
      }),
      { numRuns: 150 },
    );
  });

  it('chat-like requests with wrong types and odd values', async () => {
    await fc.assert(
      fc.asyncProperty(chatLike, async (body) => {
        const json = JSON.stringify(body);
        assertWellFormed(await send(json, 'application/json'), json.slice(0, 300));
      }),
      { numRuns: 250 },
    );
  });

  it('valid requests with odd text always succeed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), fc.boolean(), async (content, stream) => {
        const a = await send(JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content }] }), 'application/json');
        assertWellFormed(a, JSON.stringify(content));
        expect(a.status).toBe(200);
      }),
      { numRuns: 60 },
    );
  });

  it('non-JSON bodies and wrong content types get a 4xx', async () => {
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=latin1',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        '',
        ';;;',
        'application/json, text/plain',
      ),
      fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s) && /^[\x20-\x7e]*$/.test(s)),
      fc.constant(undefined),
    );
    const payload = fc.oneof(
      fc.string({ maxLength: 500 }),
      fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
      fc.constantFrom('{', '{"messages":', '[', 'null', '"x"', '{"a":1}{"b":2}', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}'),
    );
    await fc.assert(
      fc.asyncProperty(payload, contentType, async (body, type) => {
        const a = await send(body, type);
        assertWellFormed(a, `${String(type)} ${String(body).slice(0, 100)}`);
        expect(a.status).not.toBe(200);
      }),
      { numRuns: 200 },
    );
  });

  it('huge, deep and oversized bodies', async () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    const cases: Array<[string, string]> = [
      ['deep array', deep(20_000)],
      ['deep object', '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)],
      ['deep messages', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: JSON.parse(deep(500)) as unknown }] })],
      ['over the body limit', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(300 * 1024) }] })],
      ['many messages', JSON.stringify({ model: 'gpt-4o', messages: Array.from({ length: 5000 }, () => ({ role: 'user', content: 'a' })) })],
      ['huge number', `{"model":"gpt-4o","max_tokens":${'9'.repeat(400)},"messages":[{"role":"user","content":"hi"}]}`],
      ['many keys', `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ];
    for (const [what, body] of cases) assertWellFormed(await send(body, 'application/json'), what);
  });

  it('garbage in the request head on a real socket: a 4xx or a well-formed answer, never a crash', async () => {
    const { hostname, port } = new URL(stack.url);
    const headerLine = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom(
        'Content-Length: -1',
        'Content-Length: 10',
        'Content-Length: abc',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip, chunked',
        'Host:',
        ': x',
        'X\u0000: y',
        'Content-Type: application/json',
      ),
    );
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await fc.assert(
      fc.asyncProperty(fc.array(headerLine, { maxLength: 5 }), async (lines) => {
        const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nConnection: close\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
        const text = await new Promise<string>((resolve) => {
          const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(head + body));
          let out = '';
          socket.setEncoding('utf8');
          socket.on('data', (d: string) => (out += d));
          socket.on('close', () => resolve(out));
          socket.on('error', () => resolve(out));
          socket.setTimeout(5_000, () => socket.destroy());
        });
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        const context = `${JSON.stringify(lines)} -> ${text.slice(0, 300)}`;
        expect(status, context).toBeGreaterThanOrEqual(200);
        expect(status, context).toBeLessThan(500);
        if (status >= 400) {
          const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
          // a chunked error answer: the JSON sits between the chunk-size lines
          const json = parseJson(payload) ?? parseJson(payload.split('\r\n')[1] ?? '');
          expect(isOpenAIError(json), context).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('the process is alive and still answers correctly afterwards', async () => {
    const ok = await send(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still alive?' }] }), 'application/json');
    expect(ok.status).toBe(200);
    const health = await stack.gateway.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(stack.gateway.inflight.size).toBe(0);
  });
});
