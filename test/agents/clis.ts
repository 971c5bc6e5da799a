/**
 * The coding-agent CLIs the end-to-end tests run, as test/agents/package.json pins them: one entry per CLI, so
 * adding another agent is one line here, one dependency there and one test file using test/agents/agent-run.ts.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENTS_DIR = dirname(fileURLToPath(import.meta.url));

export interface AgentCli {
  /** what the test output calls it */
  name: string;
  /** the npm package in test/agents/package.json */
  pkg: string;
  /** its command in node_modules/.bin */
  bin: string;
}

export const CODEX: AgentCli = { name: 'Codex CLI', pkg: '@openai/codex', bin: 'codex' };
export const CLAUDE_CODE: AgentCli = { name: 'Claude Code', pkg: '@anthropic-ai/claude-code', bin: 'claude' };
export const OPENCODE: AgentCli = { name: 'OpenCode', pkg: 'opencode-ai', bin: 'opencode' };
export const GEMINI_CLI: AgentCli = { name: 'Gemini CLI', pkg: '@google/gemini-cli', bin: 'gemini' };

export const AGENT_CLIS: readonly AgentCli[] = [CODEX, CLAUDE_CODE, OPENCODE, GEMINI_CLI];

/** The version test/agents/package.json pins for the CLI. */
export function pinnedVersion(cli: AgentCli): string {
  const manifest = JSON.parse(readFileSync(join(AGENTS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const version = manifest.dependencies[cli.pkg];
  if (version === undefined) throw new Error(`${cli.pkg} is not in test/agents/package.json`);
  return version;
}

export function cliPath(cli: AgentCli): string {
  return join(AGENTS_DIR, 'node_modules', '.bin', cli.bin);
}

/** The CLI's path when `npm run agents:install` installed the pinned version, else undefined. */
export function installedCli(cli: AgentCli): string | undefined {
  const path = cliPath(cli);
  try {
    accessSync(path, constants.X_OK);
    const installed = JSON.parse(readFileSync(join(AGENTS_DIR, 'node_modules', cli.pkg, 'package.json'), 'utf8')) as { version?: string };
    return installed.version === pinnedVersion(cli) ? path : undefined;
  } catch {
    return undefined;
  }
}
