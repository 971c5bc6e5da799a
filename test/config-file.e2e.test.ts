/**
 * CONFIG_FILE end to end: client and upstream keys from the file, live reload by file watch, SIGHUP (a real
 * process), requests in flight surviving a reload, a broken file keeping the last good configuration, and a broken
 * file stopping the start.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { startGateway } from '../src/gateway.js';
import type { KeyInfo } from '../src/keypool/types.js';
import { startSimulator, type Simulator } from '../src/simulator/index.js';
import { CLIENT_KEY, fingerprintKey, startStack, eventually, spawnMain, type Stack, type StackOptions } from './harness.js';

const FILE_CLIENT = 'sk-file-client-key-aaaa1111';
const FILE_CLIENT_2 = 'sk-file-client-key-bbbb2222';
const K = ['od-file-key-one-1111', 'od-file-key-two-2222', 'od-file-key-three-3333', 'od-file-key-four-4444'] as const;
const ALL_SECRETS = [FILE_CLIENT, FILE_CLIENT_2, ...K];
const answerTo = (said: string) => `Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: ${said}`;

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'odgw-cfg-'));
  file = join(dir, 'gateway.json');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: Stack[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Written the way editors and config managers do it: a temp file renamed over the old one. */
function writeConfig(content: unknown): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  renameSync(tmp, file);
}

/** A stack whose keys come from the file only (no PRIVATE_KEY, no ONDEMAND_APIKEYS). */
async function fileStack(env: Record<string, string> = {}, sim: StackOptions['sim'] = {}): Promise<Stack> {
  const s = await startStack({
    keys: [],
    sim: { keys: [...K], ...sim },
    env: { PRIVATE_KEY: '', CONFIG_FILE: file, CONFIG_POLL_MS: '0', ...env },
  });
  open.push(s);
  return s;
}

async function chat(s: Stack, clientKey: string, body: Record<string, unknown> = {}) {
  const res = await request(`${s.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'ping' }], ...body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text.startsWith('{') ? (JSON.parse(text) as any) : undefined };
}

async function keyList(s: Stack, adminKey: string): Promise<KeyInfo[]> {
  const res = await request(`${s.url}/admin/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
  const text = await res.body.text();
  expect(res.statusCode).toBe(200);
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
  return (JSON.parse(text) as { data: KeyInfo[] }).data;
}

const fps = (list: readonly { fingerprint: string }[]) => list.map((k) => k.fingerprint).sort();
const fpsOf = (...keys: string[]) => keys.map((k) => fingerprintKey(k)).sort();

function expectNoSecretIn(text: string): void {
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
}

describe('keys from CONFIG_FILE', () => {
  it('serves with client and upstream keys from the file alone; weights and labels are taken', async () => {
    writeConfig({
      privateKeys: [FILE_CLIENT],
      ondemandKeys: [K[0], { key: K[1], weight: 3, label: 'big' }],
      // unknown top-level fields are allowed: the file grows (clientKeys, models) without breaking older files
      somethingNew: { any: ['shape'] },
    });
    const s = await fileStack();
    const ok = await chat(s, FILE_CLIENT);
    expect(ok.status).toBe(200);
    expect(ok.json.choices[0].message.content).toBe(answerTo('ping'));
    expect((await chat(s, CLIENT_KEY)).status).toBe(401);
    // with ADMIN_KEY unset, the admin key is the client key, from the file too
    const list = await keyList(s, FILE_CLIENT);
    expect(list).toHaveLength(2);
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[0]))).toMatchObject({ source: 'file', weight: 1, state: 'active' });
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[1]))).toMatchObject({ source: 'file', weight: 3, label: 'big' });
  });

  it('merges with PRIVATE_KEY and ONDEMAND_APIKEYS; a key in both is an env key', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0], K[1]] });
    const s = await startStack({ keys: [K[0], K[2]], env: { CONFIG_FILE: file, CONFIG_POLL_MS: '0' } });
    open.push(s);
    expect((await chat(s, CLIENT_KEY)).status).toBe(200);
    expect((await chat(s, FILE_CLIENT)).status).toBe(200);
    const list = await keyList(s, CLIENT_KEY);
    expect(fps(list)).toEqual(fpsOf(K[0], K[1], K[2]));
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[0]))?.source).toBe('env');
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[1]))?.source).toBe('file');
  });
});

describe('live reload', () => {
  it('picks up a changed file by itself: new client keys in, old out, upstream keys swapped, state of the survivors kept', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0], K[1]] });
    const s = await fileStack();
    // K[0] dies; it stays in the file across the reload and must stay dead
    s.sim.setKeyBehavior(K[0], { kind: 'http', status: 401 });
    // which key goes first is not fixed: ask until K[0] was tried
    for (let i = 0; i < 4 && (s.sim.stats().byKey[K[0]]?.sessions ?? 0) === 0; i++) expect((await chat(s, FILE_CLIENT)).status).toBe(200);
    expect((await keyList(s, FILE_CLIENT)).find((k) => k.fingerprint === fingerprintKey(K[0]))?.state).toBe('dead');

    writeConfig({ privateKeys: [FILE_CLIENT_2], ondemandKeys: [K[0], { key: K[2], label: 'new' }] });
    await eventually(() => expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[0], K[2])));
    expect((await chat(s, FILE_CLIENT)).status).toBe(401);
    const ok = await chat(s, FILE_CLIENT_2);
    expect(ok.status).toBe(200);
    const list = await keyList(s, FILE_CLIENT_2);
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[0]))).toMatchObject({ state: 'dead', reason: '401 unauthenticated' });
    expect(list.find((k) => k.fingerprint === fingerprintKey(K[2]))).toMatchObject({ state: 'active', label: 'new', failures: 0 });
    const k1Queries = s.sim.stats().byKey[K[1]]?.queries;
    expect((await chat(s, FILE_CLIENT_2)).status).toBe(200);
    expect(s.sim.stats().byKey[K[1]]?.queries).toBe(k1Queries); // removed: no longer used
    expect(s.logs()).toContain('CONFIG_FILE reloaded');
    expectNoSecretIn(s.logs());
  });

  it('the poll picks up a change too (CONFIG_POLL_MS), and an unchanged file is not re-applied', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] });
    const s = await fileStack({ CONFIG_POLL_MS: '50' });
    // rewriting in place (no rename) with the same text: nothing to apply
    writeFileSync(file, JSON.stringify({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] }, null, 2));
    expect(s.gateway.configFile?.reload('poll')).toBe(false);
    writeFileSync(file, JSON.stringify({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[3]] }));
    await eventually(() => expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[3])));
    expect((await chat(s, FILE_CLIENT)).status).toBe(200);
    expect(s.sim.stats().byKey[K[3]]?.queries).toBe(1);
    expect(s.logs().match(/CONFIG_FILE reloaded/g)).toHaveLength(1);
  });

  it('a stream in flight on a removed key, for a removed client key, finishes intact', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] });
    const s = await fileStack({}, { deltas: 20, deltaIntervalMs: 25 });
    const client = new OpenAI({ apiKey: FILE_CLIENT, baseURL: s.baseURL, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'keep going please' }] });
    let text = '';
    let reloaded = false;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (!reloaded && text.length > 0) {
        reloaded = true;
        writeConfig({ privateKeys: [FILE_CLIENT_2], ondemandKeys: [K[1]] });
        expect(s.gateway.configFile?.reload('SIGHUP')).toBe(true);
        expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[1]));
      }
    }
    expect(reloaded).toBe(true);
    expect(text).toBe(answerTo('keep going please'));
    expect(finish).toBe('stop');
    expect((await chat(s, FILE_CLIENT)).status).toBe(401);
    expect((await chat(s, FILE_CLIENT_2)).status).toBe(200);
    expect(s.sim.stats().byKey[K[1]]?.queries).toBe(1);
    expect(s.gateway.pool.list()[0]).toMatchObject({ state: 'active', inFlight: 0, failures: 0 });
  });

  it('a broken file keeps the last good configuration, says why once, and never logs a key', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] });
    const s = await fileStack({ CONFIG_POLL_MS: '50' });
    const failures = () => s.logs().match(/CONFIG_FILE reload failed/g)?.length ?? 0;

    // truncated JSON whose text holds keys: the error names the position, never the text
    writeConfig(`{"privateKeys": ["${FILE_CLIENT_2}"], "ondemandKeys": ["${K[1]}"`);
    await eventually(() => expect(s.logs()).toMatch(/CONFIG_FILE reload failed, keeping the last good configuration: not valid JSON \(line 1, column \d+\)/));
    await new Promise((r) => setTimeout(r, 300)); // several polls of the same broken text
    expect(failures()).toBe(1);
    expect((await chat(s, FILE_CLIENT)).status).toBe(200);
    expect((await chat(s, FILE_CLIENT_2)).status).toBe(401);
    expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[0]));

    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [{ weight: 2 }] });
    await eventually(() => expect(s.logs()).toContain('ondemandKeys.0'));
    writeConfig({ privateKeys: [], ondemandKeys: [K[1]] });
    await eventually(() => expect(s.logs()).toContain('no client key'));
    expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[0]));
    expect((await chat(s, FILE_CLIENT)).status).toBe(200);

    // SIGHUP re-reads even when nothing changed, and repeats the complaint
    const before = failures();
    expect(s.gateway.configFile?.reload('SIGHUP')).toBe(false);
    expect(failures()).toBe(before + 1);

    writeConfig({ privateKeys: [FILE_CLIENT_2], ondemandKeys: [K[1]] });
    await eventually(() => expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[1])));
    expect((await chat(s, FILE_CLIENT_2)).status).toBe(200);
    expectNoSecretIn(s.logs());
  });

  it("the gateway's close() stops watching", async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] });
    const s = await fileStack({ CONFIG_POLL_MS: '20' });
    await s.gateway.close();
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[1]] });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.gateway.configFile?.reload('SIGHUP')).toBe(false);
    expect(fps(s.gateway.pool.list())).toEqual(fpsOf(K[0]));
    expect(s.logs()).not.toContain('CONFIG_FILE reloaded');
  });
});

describe('a broken file at start stops the start, naming CONFIG_FILE', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'odgw-cfg-data-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = (configFile: string, env: Record<string, string> = {}) =>
    startGateway(loadConfig({ CONFIG_FILE: configFile, ONDEMAND_BASE_URL: 'http://127.0.0.1:9', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env }));

  it.each([
    ['invalid JSON', `{"privateKeys": ["${FILE_CLIENT}"`, /CONFIG_FILE .*gateway\.json: not valid JSON \(line 1, column \d+\)/],
    ['a wrong field', { privateKeys: 'one-key' }, /CONFIG_FILE .*: privateKeys: /],
    ['a key with whitespace', { privateKeys: ['two words'] }, /CONFIG_FILE .*: privateKeys\.0: must not contain whitespace/],
    ['no client key anywhere', { ondemandKeys: [K[0]] }, /CONFIG_FILE .*: no client key: PRIVATE_KEY is not set/],
  ])('%s', async (_name, content, message) => {
    writeConfig(content);
    const err = await start(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expectNoSecretIn((err as Error).message);
  });

  it('a missing file', async () => {
    await expect(start(join(dir, 'nope.json'))).rejects.toThrow(/CONFIG_FILE .*nope\.json: the file does not exist/);
  });

  it('without CONFIG_FILE, PRIVATE_KEY is still required', () => {
    expect(() => loadConfig({ ONDEMAND_APIKEYS: K[0] })).toThrow(/PRIVATE_KEY is not set/);
    expect(loadConfig({ CONFIG_FILE: file }).PRIVATE_KEY).toEqual([]);
  });
});

describe('SIGHUP in a real process', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ keys: [...K] });
  });
  afterAll(async () => sim.close());

  it('reloads the file and keeps running', async () => {
    writeConfig({ privateKeys: [FILE_CLIENT], ondemandKeys: [K[0]] });
    const dataDir = mkdtempSync(join(tmpdir(), 'odgw-cfg-proc-'));
    const main = spawnMain(dataDir, { CONFIG_FILE: file, CONFIG_POLL_MS: '0', ONDEMAND_BASE_URL: sim.url });
    const { child, exited } = main;
    try {
      await eventually(() => expect(main.output()).toContain('ondemand-gateway listening'), 15_000);
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(main.output())?.[1];
      expect(url).toBeDefined();
      child.kill('SIGHUP');
      await eventually(() => expect(main.output()).toMatch(/"trigger":"SIGHUP".*CONFIG_FILE reloaded/));
      const res = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FILE_CLIENT}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'still here' }] }),
      });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as any).choices[0].message.content).toBe(answerTo('still here'));
      expectNoSecretIn(main.output());
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
