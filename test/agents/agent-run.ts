/**
 * Runs a coding-agent CLI headless against a gateway and its simulator on loopback: a throwaway HOME and working
 * folder per run, an environment that holds only what the run sets (no key or config of the machine leaks in),
 * and a bound on its time (the child is killed past it). What crossed the wire is read back from the simulator's
 * query bodies and the gateway's request log lines, so a test asserts on the traffic, not only the exit code.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import type { Stack } from '../harness.js';
import { AGENT_CLIS, type AgentCli, installedCli, pinnedVersion } from './clis.js';

export interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface AgentDirs {
  /** the agent's HOME (its config and state go here) */
  home: string;
  /** the folder it works in: the tool's effects land here */
  work: string;
  remove(): void;
}

export function agentDirs(cli: AgentCli): AgentDirs {
  const root = mkdtempSync(join(tmpdir(), `odgw-agent-${cli.bin}-`));
  const home = join(root, 'home');
  const work = join(root, 'work');
  mkdirSync(home);
  mkdirSync(work);
  return { home, work, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs the installed CLI with `args` in `dirs.work`; only PATH and `env` reach it (HOME is `dirs.home`). */
export function runAgent(cli: AgentCli, args: readonly string[], dirs: AgentDirs, env: Record<string, string>, timeoutMs = 150_000): Promise<AgentRun> {
  const bin = installedCli(cli);
  if (bin === undefined) throw new Error(`${cli.name} ${pinnedVersion(cli)} is not installed: run \`npm run agents:install\``);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: dirs.work,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dirs.home, TMPDIR: tmpdir(), NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What a failed run said, for an assertion's message. */
export const runReport = (run: AgentRun): string => `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;

export interface GatewayRequestLine {
  method: string;
  path: string;
  status: number;
  model?: string;
  stream?: boolean;
}

/** The gateway's access log lines (one per client request) written since `from` (an offset into stack.logs()). */
export function requestLines(stack: Stack, from = 0): GatewayRequestLine[] {
  return stack
    .logs()
    .slice(from)
    .split('\n')
    .filter((line) => line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as GatewayRequestLine);
}

/**
 * The simulator's query bodies as one text each. A whole round trip shows as a query offering tools whose answer
 * was the call, then a query whose transcript carries the tool's result.
 */
export function queries(stack: Stack): string[] {
  return stack.sim.stats().queryBodies.map((b) => (b as { query: string }).query);
}

const announced = { done: false };

/**
 * `describe` for the suites that run the coding-agent CLIs: they run where `npm run agents:install` installed the
 * pinned versions, and always under CI (where a missing CLI fails with the install command); elsewhere they are
 * skipped with one line saying how to install them.
 */
export function describeWithAgents(): ReturnType<typeof describe.skipIf> {
  const missing = AGENT_CLIS.filter((cli) => installedCli(cli) === undefined);
  if (missing.length === 0 || process.env['CI'] === 'true') return describe.skipIf(false);
  if (!announced.done) {
    announced.done = true;
    console.warn(`skipped: the coding-agent tests (${missing.map((c) => c.name).join(', ')} not installed); run \`npm run agents:install\` (CI installs them and never skips)`);
  }
  return describe.skipIf(true);
}
