/**
 * Starts the simulator and a gateway in front of it on loopback, for end-to-end tests. Each test file gets its
 * own pair (ports are ephemeral), a throwaway data dir, and captured JSON logs.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../src/config/config.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.js';

export const CLIENT_KEY = 'sk-test-client-key-0123456789';
export const UPSTREAM_KEYS = ['od-key-alpha-111111', 'od-key-beta-222222', 'od-key-gamma-333333'];

export interface Stack {
  sim: Simulator;
  gateway: Gateway;
  config: Config;
  /** gateway origin, e.g. http://127.0.0.1:40123 */
  url: string;
  /** OpenAI-style base URL: url + /v1 */
  baseURL: string;
  /** every log line the gateway wrote so far */
  logs(): string;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  sim?: SimulatorOptions;
  keys?: string[];
}

export interface GatewayUnderTest {
  gateway: Gateway;
  config: Config;
  /** gateway origin, e.g. http://127.0.0.1:40123 */
  url: string;
  dataDir: string;
  /** every log line the gateway wrote so far */
  logs(): string;
  /** closes the gateway and removes its data dir */
  close(): Promise<void>;
}

/** A loopback stand-in for OnDemand whose query answers a test writes itself; sessions are made, anything else is 404. */
export interface LoopbackUpstream {
  /** its origin, e.g. http://127.0.0.1:40123 */
  url: string;
  close(): Promise<void>;
}

export async function startLoopbackUpstream(serveQuery: (res: ServerResponse) => void): Promise<LoopbackUpstream> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (req.method === 'POST' && path === '/chat/v1/sessions') {
        const id = Math.random().toString(16).slice(2).padEnd(24, '0').slice(0, 24);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            message: 'Session created successfully',
            data: { id, companyId: 'c', externalUserId: 'u', pluginIds: [], title: '', createdAt: new Date().toISOString() },
          }),
        );
        return;
      }
      if (req.method === 'POST' && /^\/chat\/v1\/sessions\/[^/]+\/query$/.test(path)) {
        serveQuery(res);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorCode: 'not_found', message: `Cannot ${req.method} ${path}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** One gateway on an ephemeral loopback port in front of `upstreamUrl`, with its own data dir and captured logs. */
export async function startTestGateway(upstreamUrl: string, opts: { env?: Record<string, string>; keys?: string[] } = {}): Promise<GatewayUnderTest> {
  const keys = opts.keys ?? UPSTREAM_KEYS;
  const dataDir = mkdtempSync(join(tmpdir(), 'odgw-test-'));
  const config = loadConfig({
    PRIVATE_KEY: CLIENT_KEY,
    ONDEMAND_APIKEYS: keys.join(','),
    ONDEMAND_BASE_URL: upstreamUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    HEALTH_CHECK_INTERVAL: '0',
    SHUTDOWN_GRACE_MS: '2000',
    ...opts.env,
  });
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => {
    logText += chunk.toString('utf8');
  });
  const gateway = await startGateway(config, { logStream });
  const url = await gateway.listen();
  return {
    gateway,
    config,
    url,
    dataDir,
    logs: () => logText,
    async close() {
      await gateway.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const keys = opts.keys ?? UPSTREAM_KEYS;
  const sim = await startSimulator({ keys, ...opts.sim });
  const gw = await startTestGateway(sim.url, { keys, ...(opts.env ? { env: opts.env } : {}) });
  return {
    sim,
    gateway: gw.gateway,
    config: gw.config,
    url: gw.url,
    baseURL: `${gw.url}/v1`,
    logs: gw.logs,
    async close() {
      await gw.close();
      await sim.close();
    },
  };
}

/** The fingerprint the gateway shows for a raw upstream key. */
export { fingerprintKey } from '../src/ondemand/key-fingerprint.js';

/** Polls until `check` passes (bounded): for effects that happen after the response, never for timing. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Polls `cond` every 10 ms until it holds (bounded, failing with `what`); resolves with the milliseconds it took. */
export async function until(what: string, cond: () => boolean, timeoutMs = 8000): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

/** The openai and Anthropic SDKs pointed at a stack, with the client key and no retries. */
export function sdkClients(stack: Pick<Stack, 'url' | 'baseURL'>): { openai: OpenAI; anthropic: Anthropic } {
  return {
    openai: new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 }),
    anthropic: new Anthropic({ apiKey: CLIENT_KEY, baseURL: stack.url, maxRetries: 0 }),
  };
}

/** `npm start` as its own process: src/main.ts under tsx, with `imports` preloaded, PORT 0 on loopback, in `dir`. */
export interface MainProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout and stderr so far */
  output: () => string;
  /** the exit code, once it exits */
  exited: Promise<number | null>;
}

export function spawnMain(dir: string, env: Record<string, string>, imports: string[] = []): MainProcess {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const args = ['--import', tsx, ...imports.flatMap((i) => ['--import', i]), join(import.meta.dirname, '../src/main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, HEALTH_CHECK_INTERVAL: '0', SHUTDOWN_GRACE_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}
