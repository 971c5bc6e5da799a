/**
 * The coding agents themselves, as a user runs them, against the gateway and its simulator on loopback: Codex CLI
 * (`codex exec`, a Responses provider in config.toml), Claude Code (`claude -p`, ANTHROPIC_BASE_URL) and OpenCode
 * (`opencode run`, an @ai-sdk/openai-compatible provider) and Gemini CLI (`gemini -p`, GOOGLE_GEMINI_BASE_URL on the
 * Gemini API). Each prompt carries SIM_TOOL_CALL, so the simulated model
 * calls the agent's own shell tool with a command that writes a file; the agent runs it, sends the result back,
 * and the answer quoting that result ends the turn. Each test checks the file, the answer, the exit code, and what
 * crossed the wire: the gateway answered every request 200 on the API the agent speaks, and the tool's output
 * reached the simulator in the next query.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { THINKING_TEXT } from '../../src/simulator/index.js';
import { TOOL_RESULT_PREFIX } from '../../src/simulator/tools.js';
import { CLIENT_KEY, startStack, type Stack } from '../harness.js';
import { type AgentDirs, agentDirs, describeWithAgents, queries, requestLines, runAgent, runReport } from './agent-run.js';
import { CLAUDE_CODE, CODEX, GEMINI_CLI, OPENCODE } from './clis.js';

const RUN_TIMEOUT_MS = 150_000;
const TEST_TIMEOUT_MS = 200_000;

let stack: Stack;
let logsFrom = 0;
const dirs: AgentDirs[] = [];

/** A prompt that makes the simulated model call `tool` with a shell command writing `token` to proof.txt. */
const shellPrompt = (tool: string, argsFor: (command: string) => Record<string, string>, token: string): string =>
  `Run this. SIM_TOOL_CALL ${tool} ${JSON.stringify(argsFor(`echo ${token} > proof.txt && cat proof.txt`))}`;

/** The round trip on the wire: a query offering tools, then one whose transcript holds the tool's output. */
function expectRoundTripUpstream(token: string): void {
  const sent = queries(stack);
  const offered = sent.findIndex((q) => q.includes('\n<tools>\n') && q.includes('SIM_TOOL_CALL'));
  expect(offered, 'a query offering the agent its tools').toBeGreaterThanOrEqual(0);
  const answered = sent.findIndex((q, i) => i > offered && q.includes('<tool_result') && q.includes(token));
  expect(answered, "a later query carrying the tool's output").toBeGreaterThan(offered);
}

function expectAllAnswered(path: string): void {
  const lines = requestLines(stack, logsFrom);
  expect(lines.length).toBeGreaterThanOrEqual(2);
  expect(lines.filter((l) => l.status !== 200)).toEqual([]);
  expect(lines.filter((l) => l.path === path).length).toBeGreaterThanOrEqual(2);
}

const proof = (d: AgentDirs): string => readFileSync(join(d.work, 'proof.txt'), 'utf8').trim();
const newDirs = (...args: Parameters<typeof agentDirs>): AgentDirs => {
  const d = agentDirs(...args);
  dirs.push(d);
  return d;
};

describeWithAgents()('coding agents through the gateway', () => {
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
    for (const d of dirs) d.remove();
  });
  beforeEach(() => {
    stack.sim.reset();
    logsFrom = stack.logs().length;
  });

  it(
    'Codex CLI: codex exec on the Responses API runs exec_command and answers',
    async () => {
      const d = newDirs(CODEX);
      writeFileSync(
        join(d.home, 'config.toml'),
        [
          'model = "gpt-4o"',
          'model_provider = "gateway"',
          '[model_providers.gateway]',
          'name = "OnDemand gateway"',
          `base_url = "${stack.baseURL}"`,
          'env_key = "GATEWAY_API_KEY"',
          'wire_api = "responses"',
          '',
        ].join('\n'),
      );
      const token = 'made-by-codex';
      const run = await runAgent(
        CODEX,
        ['exec', '--skip-git-repo-check', '--sandbox', 'workspace-write', shellPrompt('exec_command', (cmd) => ({ cmd }), token)],
        d,
        { CODEX_HOME: d.home, GATEWAY_API_KEY: CLIENT_KEY },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, runReport(run)).toBe(0);
      expect(proof(d)).toBe(token);
      expect(run.stdout).toContain(TOOL_RESULT_PREFIX);
      expect(run.stdout).toContain(token);
      expectAllAnswered('/v1/responses');
      expectRoundTripUpstream(token);
      // in a workspace-write sandbox Codex offers web_search with external_web_access false: no Internet Search
      // upstream (with full access it turns live access on, and the gateway searches as WEB_SEARCH_WHEN_OFFERED says)
      for (const body of stack.sim.stats().queryBodies) expect((body as { pluginIds: string[] }).pluginIds).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Claude Code: claude -p on the Messages API (its betas, thinking, tool_use streamed as input_json_delta) runs Bash and answers',
    async () => {
      const d = newDirs(CLAUDE_CODE);
      const token = 'made-by-claude';
      const command = `echo ${token} > proof.txt && cat proof.txt`;
      const run = await runAgent(
        CLAUDE_CODE,
        [
          '-p',
          shellPrompt('Bash', (cmd) => ({ command: cmd, description: 'write the proof file' }), token),
          '--allowedTools',
          'Bash',
          '--output-format',
          'stream-json',
          '--verbose',
        ],
        d,
        {
          ANTHROPIC_BASE_URL: stack.url,
          ANTHROPIC_API_KEY: CLIENT_KEY,
          DISABLE_TELEMETRY: '1',
          DISABLE_AUTOUPDATER: '1',
          DISABLE_ERROR_REPORTING: '1',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, runReport(run)).toBe(0);
      expect(proof(d)).toBe(token);
      // what Claude Code read from the gateway's stream, block by block
      type Block = { type: string; thinking?: string; name?: string; input?: unknown; content?: unknown; text?: string };
      const events = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; subtype?: string; is_error?: boolean; result?: string; message?: { content?: Block[] | string } });
      const blocks = events.flatMap((e) => ((e.type === 'assistant' || e.type === 'user') && Array.isArray(e.message?.content) ? e.message.content : []));
      expect(blocks.map((b) => b.type)).toEqual(['thinking', 'tool_use', 'tool_result', 'thinking', 'text']);
      expect(blocks[0]?.thinking).toBe(THINKING_TEXT);
      // the call's input arrived as input_json_delta and was read back exactly
      expect(blocks[1]).toMatchObject({ name: 'Bash', input: { command, description: 'write the proof file' } });
      expect(blocks[2]?.content).toBe(token);
      expect(blocks[4]?.text).toBe(`${TOOL_RESULT_PREFIX}${token}`);
      expect(events.at(-1)).toMatchObject({ type: 'result', subtype: 'success', is_error: false });
      expectAllAnswered('/v1/messages');
      expectRoundTripUpstream(token);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'OpenCode: opencode run with an @ai-sdk/openai-compatible provider runs bash and answers',
    async () => {
      const d = newDirs(OPENCODE);
      const config = join(d.home, 'opencode.json');
      writeFileSync(
        config,
        JSON.stringify({
          provider: {
            gateway: {
              npm: '@ai-sdk/openai-compatible',
              name: 'OnDemand gateway',
              options: { baseURL: stack.baseURL, apiKey: '{env:GATEWAY_API_KEY}' },
              models: { 'gpt-4o': { name: 'gpt-4o', tool_call: true } },
            },
          },
          model: 'gateway/gpt-4o',
          autoupdate: false,
          share: 'disabled',
          permission: { bash: 'allow', edit: 'allow' },
        }),
      );
      const token = 'made-by-opencode';
      const run = await runAgent(
        OPENCODE,
        ['run', shellPrompt('bash', (command) => ({ command, description: 'write the proof file' }), token)],
        d,
        {
          OPENCODE_CONFIG: config,
          XDG_CONFIG_HOME: join(d.home, '.config'),
          XDG_DATA_HOME: join(d.home, '.local', 'share'),
          XDG_CACHE_HOME: join(d.home, '.cache'),
          XDG_STATE_HOME: join(d.home, '.local', 'state'),
          OPENCODE_DISABLE_AUTOUPDATE: '1',
          OPENCODE_DISABLE_MODELS_FETCH: '1',
          OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
          OPENCODE_DISABLE_SHARE: '1',
          GATEWAY_API_KEY: CLIENT_KEY,
        },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, runReport(run)).toBe(0);
      expect(proof(d)).toBe(token);
      expect(run.stdout).toContain(`${TOOL_RESULT_PREFIX}${token}`);
      expectAllAnswered('/v1/chat/completions');
      expectRoundTripUpstream(token);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Gemini CLI: gemini -p on the Gemini API (x-goog-api-key, alt=sse, thought parts) runs run_shell_command and answers',
    async () => {
      const d = newDirs(GEMINI_CLI);
      mkdirSync(join(d.home, '.gemini'));
      writeFileSync(
        join(d.home, '.gemini', 'settings.json'),
        JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false }, general: { enableAutoUpdate: false } }),
      );
      const token = 'made-by-gemini';
      const run = await runAgent(
        GEMINI_CLI,
        ['-p', shellPrompt('run_shell_command', (command) => ({ command, description: 'write the proof file' }), token), '--approval-mode', 'yolo', '-m', 'gemini-2.5-flash'],
        d,
        { GOOGLE_GEMINI_BASE_URL: stack.url, GEMINI_API_KEY: CLIENT_KEY, GEMINI_CLI_TRUST_WORKSPACE: 'true' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, runReport(run)).toBe(0);
      expect(proof(d)).toBe(token);
      // Gemini CLI wraps the command's output (`Output: …`) before sending it back as the functionResponse
      expect(run.stdout).toContain(TOOL_RESULT_PREFIX);
      expect(run.stdout).toContain(`Output: ${token}`);
      expectAllAnswered('/v1beta/models/*');
      expectRoundTripUpstream(token);
    },
    TEST_TIMEOUT_MS,
  );
});
