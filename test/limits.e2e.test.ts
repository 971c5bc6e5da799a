/**
 * Each limit with a small setting: body size, number and size of messages, header size, slow clients (slowloris:
 * head and body), streams in flight per client key. Every refusal is in its API's shape; nothing reaches the upstream.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, checkChatStream, isOpenAIError, open, parseJson, post } from './fault-helpers.js';
import { startStack, type Stack } from './harness.js';

const KEY_A = 'sk-limits-client-a-0123456789';
const KEY_B = 'sk-limits-client-b-0123456789';

const chat = (messages: unknown[], stream = false): Record<string, unknown> => ({ model: 'gpt-4o', stream, messages });
const user = (content: unknown): { role: string; content: unknown } => ({ role: 'user', content });
const geminiTurn = (text: string) => ({ role: 'user', parts: [{ text }] });

/** What the server wrote on a raw socket until it closed it (or the test's cap). */
function rawExchange(url: string, write: (socket: Socket) => void, capMs = 8_000): Promise<{ text: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      socket.destroy();
      resolve({ text, closedByServer });
    };
    const cap = setTimeout(() => finish(false), capMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => write(socket));
  });
}

function statusAndBody(raw: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const body = parseJson(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  return { status, body };
}

let stack: Stack;
let slow: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: {
      PRIVATE_KEY: `${KEY_A},${KEY_B}`,
      BODY_LIMIT_BYTES: '4096',
      MAX_MESSAGES: '3',
      MAX_MESSAGE_CHARS: '100',
      MAX_HEADER_BYTES: '2048',
      HEADERS_TIMEOUT_MS: '300',
      REQUEST_TIMEOUT_MS: '600',
      MAX_STREAMS_PER_CLIENT: '2',
    },
    sim: { deltas: 25, deltaIntervalMs: 40 }, // a stream lasts about 1 s: longer than REQUEST_TIMEOUT_MS
  });
  slow = stack;
});

afterAll(async () => {
  await slow?.close();
});

describe('request limits', () => {
  it('body size: 413 above BODY_LIMIT_BYTES', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chat([user('x'.repeat(5000))]), auth(KEY_A));
    expect(res.status).toBe(413);
    expect(parseJson(res.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
  });

  it('number of messages: 400 above MAX_MESSAGES, fine at the limit', async () => {
    const queriesBefore = stack.sim.stats().queries;
    const four = await post(`${stack.url}/v1/chat/completions`, chat([user('a'), user('b'), user('c'), user('d')]), auth(KEY_A));
    expect(four.status).toBe(400);
    expect(parseJson(four.body)).toMatchObject({ error: { code: 'too_many_messages', param: 'messages' } });
    expect(stack.sim.stats().queries).toBe(queriesBefore);
    const three = await post(`${stack.url}/v1/chat/completions`, chat([user('a'), user('b'), user('c')]), auth(KEY_A));
    expect(three.status).toBe(200);
  });

  it('size of one message: 400 above MAX_MESSAGE_CHARS, counted over text parts too', async () => {
    const long = await post(`${stack.url}/v1/chat/completions`, chat([user('ok'), user('y'.repeat(101))]), auth(KEY_A));
    expect(long.status).toBe(400);
    expect(parseJson(long.body)).toMatchObject({ error: { code: 'message_too_large', param: 'messages[1].content' } });
    const parts = [
      { type: 'text', text: 'z'.repeat(60) },
      { type: 'text', text: 'z'.repeat(60) },
    ];
    const split = await post(`${stack.url}/v1/chat/completions`, chat([user(parts)]), auth(KEY_A));
    expect(split.status).toBe(400);
    expect(parseJson(split.body)).toMatchObject({ error: { code: 'message_too_large' } });
    const fits = await post(`${stack.url}/v1/chat/completions`, chat([user('w'.repeat(100))]), auth(KEY_A));
    expect(fits.status).toBe(200);
  });

  it('every API: the same limits on its own list (Responses input, Anthropic messages, a legacy prompt, Gemini contents), before any upstream call', async () => {
    const queriesBefore = stack.sim.stats().queries;
    const items = await post(`${stack.url}/v1/responses`, { model: 'gpt-4o', input: [user('a'), user('b'), user('c'), user('d')] }, auth(KEY_A));
    expect(items.status).toBe(400);
    expect(parseJson(items.body)).toMatchObject({ error: { code: 'too_many_messages', param: 'input' } });
    const anthropic = await post(`${stack.url}/v1/messages`, { model: 'gpt-4o', max_tokens: 5, messages: [user('a'), user('b'), user('c'), user('d')] }, auth(KEY_A));
    expect(anthropic.status).toBe(400);
    expect(parseJson(anthropic.body)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect((parseJson(anthropic.body) as { error: { message: string } }).error.message).toContain('MAX_MESSAGES');
    const prompt = await post(`${stack.url}/v1/completions`, { model: 'gpt-4o', prompt: 'p'.repeat(101) }, auth(KEY_A));
    expect(prompt.status).toBe(400);
    expect(parseJson(prompt.body)).toMatchObject({ error: { code: 'message_too_large', param: 'prompt' } });
    const contents = [geminiTurn('a'), geminiTurn('b'), geminiTurn('c'), geminiTurn('d')];
    const gemini = await post(`${stack.url}/v1beta/models/gpt-4o:generateContent`, { contents }, auth(KEY_A));
    expect(gemini.status).toBe(400);
    expect(parseJson(gemini.body)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('MAX_MESSAGES') } });
    const part = await post(`${stack.url}/v1beta/models/gpt-4o:countTokens`, { contents: [geminiTurn('p'.repeat(101))] }, auth(KEY_A));
    expect(part.status).toBe(400);
    expect(parseJson(part.body)).toMatchObject({ error: { status: 'INVALID_ARGUMENT', message: expect.stringContaining('MAX_MESSAGE_CHARS') } });
    expect(stack.sim.stats().queries).toBe(queriesBefore);
    const three = await post(`${stack.url}/v1/responses`, { model: 'gpt-4o', input: [user('a'), user('b'), user('c')] }, auth(KEY_A));
    expect(three.status).toBe(200);
  });

  it('header size: 431 above MAX_HEADER_BYTES, OpenAI-shaped, connection closed', async () => {
    const { text, closedByServer } = await rawExchange(stack.url, (s) => {
      s.write(`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(4096)}\r\n\r\n`);
    });
    const { status, body } = statusAndBody(text);
    expect(status).toBe(431);
    expect(isOpenAIError(body)).toBe(true);
    expect(body).toMatchObject({ error: { code: 'request_headers_too_large' } });
    expect(closedByServer).toBe(true);
  });

  it('slowloris head: a request head trickled in byte by byte gets 408 and the socket closed', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { text, closedByServer } = await rawExchange(stack.url, (s) => {
      s.write('GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      timer = setInterval(() => {
        if (s.writable) s.write('a');
      }, 30);
    });
    clearInterval(timer);
    const { status, body } = statusAndBody(text);
    expect(closedByServer).toBe(true);
    expect(status).toBe(408);
    expect(body).toMatchObject({ error: { code: 'request_timeout' } });
  });

  it('slowloris body: a body that stops short is cut with 408', async () => {
    const { text, closedByServer } = await rawExchange(stack.url, (s) => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY_A}\r\n` + 'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"model":');
    });
    expect(closedByServer).toBe(true);
    expect(statusAndBody(text).status).toBe(408);
  });

  it('a stream that lasts longer than REQUEST_TIMEOUT_MS is not cut (the timeouts only cover receiving the request)', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chat([user('one two three four five six seven eight nine ten')], true), auth(KEY_A));
    expect(res.status).toBe(200);
    expect(checkChatStream(res.body)).toMatchObject({ ok: true, ending: 'done' });
  });

  it('streams in flight per client key: the third of client A gets 429, client B and non-stream calls are not affected', async () => {
    const body = chat([user('alpha beta gamma delta epsilon zeta eta theta iota kappa')], true);
    const s1 = open(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    const s2 = open(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    await Promise.all([s1.waitFor('"content":"'), s2.waitFor('"content":"')]);

    const third = await post(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(parseJson(third.body)).toMatchObject({ error: { type: 'rate_limit_error', code: 'too_many_streams' } });

    const other = open(`${stack.url}/v1/chat/completions`, body, auth(KEY_B));
    expect(await other.status).toBe(200);
    const plain = await post(`${stack.url}/v1/chat/completions`, { ...body, stream: false }, auth(KEY_A));
    expect(plain.status).toBe(200);

    for (const s of [s1, s2, other]) expect(checkChatStream((await s.done).body)).toMatchObject({ ok: true, ending: 'done' });
    const again = await post(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    expect(again.status).toBe(200);
  });

  it('a Gemini stream, asked for in the path, holds a slot as a chat stream does', async () => {
    const body = { contents: [geminiTurn('alpha beta gamma delta epsilon zeta eta theta iota kappa')] };
    const url = `${stack.url}/v1beta/models/gpt-4o:streamGenerateContent?alt=sse`;
    const s1 = open(url, body, auth(KEY_A));
    const s2 = open(`${stack.url}/v1/chat/completions`, chat([user('alpha beta gamma delta epsilon zeta eta theta iota kappa')], true), auth(KEY_A));
    await Promise.all([s1.waitFor('"text":"'), s2.waitFor('"content":"')]);
    const third = await post(url, body, auth(KEY_A));
    expect(third.status).toBe(429);
    expect(parseJson(third.body)).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    await Promise.all([s1.done, s2.done]);
    expect((await post(url, body, auth(KEY_A))).status).toBe(200);
  });

  it('a client that hangs up frees its stream slot', async () => {
    const body = chat([user('one two three four five six')], true);
    const a = open(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    const b = open(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
    await Promise.all([a.waitFor('"content":"'), b.waitFor('"content":"')]);
    a.abort();
    b.abort();
    await Promise.all([a.done, b.done]);
    // the server sees the hang-up asynchronously; the next two streams must both be let in soon after
    let admitted = 0;
    for (let i = 0; i < 50 && admitted === 0; i++) {
      const r = await post(`${stack.url}/v1/chat/completions`, body, auth(KEY_A));
      if (r.status === 200) admitted++;
      else await new Promise((r2) => setTimeout(r2, 20));
    }
    expect(admitted).toBe(1);
  });
});
