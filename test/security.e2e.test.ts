/**
 * Security through the real stack: the upstream origin comes from configuration only (Host, X-Forwarded-Host and
 * an absolute request URL change nothing), client headers never go upstream, CORS off by default and working
 * when configured (preflight before auth, streams included), admin routes need the admin key.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { auth, checkChatStream, isOpenAIError, parseJson, post } from './fault-helpers.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const ADMIN = 'sk-admin-key-9876543210';
const chat = (stream = false): Record<string, unknown> => ({ model: 'gpt-4o', stream, messages: [{ role: 'user', content: 'say hello please' }] });

/** Headers the gateway itself sets on an upstream call; anything else would come from the client. */
const UPSTREAM_HEADERS = new Set(['host', 'connection', 'content-type', 'content-length', 'accept', 'user-agent', 'apikey']);

let stack: Stack;
let cors: Stack;
let decoy: Simulator;

beforeAll(async () => {
  decoy = await startSimulator({});
  stack = await startStack({ env: { ADMIN_KEY: ADMIN } });
  cors = await startStack({ env: { CORS_ORIGINS: 'https://chat.example' } });
});

afterAll(async () => {
  await stack?.close();
  await cors?.close();
  await decoy?.close();
});

function rawRequest(url: string, head: string, body: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('the upstream origin is fixed by configuration', () => {
  it('Host, X-Forwarded-Host, Forwarded and X-Original-URL headers do not move upstream traffic', async () => {
    const decoyHost = new URL(decoy.url).host;
    const before = stack.sim.stats().queries;
    const res = await post(`${stack.url}/v1/chat/completions`, chat(), {
      ...auth(CLIENT_KEY),
      host: decoyHost,
      'x-forwarded-host': decoyHost,
      'x-forwarded-proto': 'http',
      forwarded: `host=${decoyHost};proto=http`,
      'x-original-url': `${decoy.url}/chat/v1/sessions`,
    });
    expect(res.status).toBe(200);
    expect(stack.sim.stats().queries).toBe(before + 1);
    expect(decoy.stats().queries).toBe(0);
    expect(decoy.stats().sessionsCreated).toBe(0);
  });

  it('an absolute-form request URL naming another host does not either', async () => {
    const decoyHost = new URL(decoy.url).host;
    const body = JSON.stringify(chat());
    const text = await rawRequest(
      stack.url,
      `POST ${decoy.url}/v1/chat/completions HTTP/1.1\r\nHost: ${decoyHost}\r\nAuthorization: Bearer ${CLIENT_KEY}\r\nContent-Type: application/json\r\n`,
      body,
    );
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
    // either routed by its path (and answered from the configured upstream) or refused; never sent to the decoy
    expect([200, 400, 404]).toContain(status);
    if (status !== 200) expect(isOpenAIError(parseJson(text.slice(text.indexOf('\r\n\r\n') + 4)))).toBe(true);
    expect(decoy.stats().queries).toBe(0);
    expect(decoy.stats().sessionsCreated).toBe(0);
  });
});

describe('client headers are never forwarded upstream', () => {
  it('only the gateway own headers reach the upstream, whatever the client sends', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chat(), {
      'x-api-key': CLIENT_KEY,
      authorization: 'Bearer something-else',
      cookie: 'session=abc',
      'x-stainless-os': 'Linux',
      'x-stainless-retry-count': '0',
      'openai-organization': 'org-123',
      'x-forwarded-for': '10.0.0.1',
      'x-custom-secret': 'do-not-forward',
      apikey: 'od-client-supplied-upstream-key',
      'user-agent': 'client-agent/1.0',
      accept: 'text/plain',
    });
    expect(res.status).toBe(200);
    const names = stack.sim.stats().lastQueryHeaders;
    expect(names).toContain('apikey');
    expect(names.filter((n) => !UPSTREAM_HEADERS.has(n))).toEqual([]);
    // the apikey that went up is one of the gateway's own (the simulator only accepts those): the request succeeded,
    // and the client-supplied apikey was not used
    expect(stack.sim.stats().byKey['od-client-supplied-upstream-key']).toBeUndefined();
  });
});

describe('CORS through the gateway', () => {
  it('off by default: no Access-Control-Allow-Origin for any origin', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chat(), { ...auth(CLIENT_KEY), origin: 'https://chat.example' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('configured: preflight answered without a key, JSON and streamed answers carry the header', async () => {
    const pre = await post(
      `${cors.url}/v1/chat/completions`,
      undefined,
      {
        origin: 'https://chat.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
      { method: 'OPTIONS' },
    );
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://chat.example');
    const json = await post(`${cors.url}/v1/chat/completions`, chat(), { ...auth(CLIENT_KEY), origin: 'https://chat.example' });
    expect(json.headers['access-control-allow-origin']).toBe('https://chat.example');
    const stream = await post(`${cors.url}/v1/chat/completions`, chat(true), { ...auth(CLIENT_KEY), origin: 'https://chat.example' });
    expect(stream.headers['access-control-allow-origin']).toBe('https://chat.example');
    // the streamed answer bypasses fastify's onSend hook: its writer sets nosniff itself
    expect(stream.headers['x-content-type-options']).toBe('nosniff');
    expect(checkChatStream(stream.body).ok).toBe(true);
    const other = await post(`${cors.url}/v1/chat/completions`, chat(), { ...auth(CLIENT_KEY), origin: 'https://other.example' });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('admin routes need the admin key', () => {
  it('no key, a client key or a wrong key: 401; the admin key: 200', async () => {
    for (const headers of [{}, auth(CLIENT_KEY), auth('sk-admin-key-9876543211'), { 'x-api-key': CLIENT_KEY }]) {
      const res = await post(`${stack.url}/admin/keys`, undefined, headers);
      expect(res.status).toBe(401);
      expect(parseJson(res.body)).toMatchObject({ error: { type: 'authentication_error' } });
    }
    const del = await post(`${stack.url}/admin/keys/k:00000000`, undefined, auth(CLIENT_KEY), { method: 'DELETE' });
    expect(del.status).toBe(401);
    const ok = await post(`${stack.url}/admin/keys`, undefined, auth(ADMIN));
    expect(ok.status).toBe(200);
    expect(parseJson(ok.body)).toMatchObject({ object: 'list' });
    // the admin key is not a client key
    const chatWithAdmin = await post(`${stack.url}/v1/chat/completions`, chat(), auth(ADMIN));
    expect(chatWithAdmin.status).toBe(401);
  });
});
