/**
 * The benchmark's two floors (bench/floor.ts on node:http, bench/floor-fastify.ts behind one fastify route) do the
 * same work against the benchmark's upstream (bench/mock.ts): a plain answer, a streamed one, and a refusal of a wrong
 * key, each the same from both. `npm run bench -- --fastify-floor` divides one by the other, so they must not differ
 * in anything else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Proc, startProc } from '../bench/procs.js';

const CLIENT_KEY = 'floor-client-key';
const DELTAS = 5;
let mock: Proc;

/** a bench script run from source, as the tests run everything (started and stopped as the benchmark does) */
function startScript(script: string, port: number, env: Record<string, string>, readyPath: string): Promise<Proc> {
  return startProc({ name: script, script, env, port, core: undefined, cwd: process.cwd(), readyPath, nodeArgs: ['--import', 'tsx'], readyTimeoutMs: 20_000 });
}

beforeAll(async () => {
  const port = await freePort();
  mock = await startScript('bench/mock.ts', port, { MOCK_PORT: String(port) }, '/__mock/options');
  const set = await fetch(`${mock.url}/__mock/options`, { method: 'POST', body: JSON.stringify({ deltas: DELTAS, intervalMs: 1 }) });
  expect(set.status).toBe(200);
}, 30_000);
afterAll(() => mock.stop());

const ask = (base: string, body: object, key = CLIENT_KEY): Promise<Response> =>
  fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 512, ...body }),
  });

describe.each(['bench/floor.ts', 'bench/floor-fastify.ts'])('%s', (script) => {
  let floor: Proc;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    floor = await startScript(script, port, { FLOOR_PORT: String(port), UPSTREAM_URL: mock.url, UPSTREAM_KEYS: 'mock-key', CLIENT_KEY }, '/');
    base = floor.url;
  }, 30_000);
  afterAll(() => floor.stop());

  it('answers a plain request with a chat.completion', async () => {
    const res = await ask(base, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: Array<{ message: { role: string; content: string } }> };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]?.message.role).toBe('assistant');
    expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
  });

  it('streams chunks that end with [DONE]', async () => {
    const res = await ask(base, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const frames = (await res.text()).split('\n\n').filter((f) => f !== '');
    expect(frames.at(-1)).toBe('data: [DONE]');
    const text = frames
      .slice(0, -1)
      .map((f) => JSON.parse(f.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }> })
      .map((c) => c.choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toMatch(new RegExp(`^0x+1x+.*${DELTAS - 1}x+$`));
  });

  it('refuses a wrong key with 401', async () => {
    const res = await ask(base, {}, 'not-the-key');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('bad key');
  });
});
