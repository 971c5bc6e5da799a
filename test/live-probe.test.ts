/**
 * The live probe's code path, against the simulator (OnDemand itself cannot be reached from here): the calls it
 * announces are the calls it makes, both arms recall the code word, the continuation arm sends only the new turn
 * (the simulator bills what it was sent, so its numbers say nothing about OnDemand's billing), and the report is
 * a Markdown table. Without a key the command refuses to run.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatReport, plannedCalls, probeTurns, runProbe, type ProbeReport } from '../bench/live-probe.js';
import { simTokens, startSimulator, type Simulator } from '../src/simulator/index.js';

let sim: Simulator;
let report: ProbeReport;
beforeAll(async () => {
  sim = await startSimulator({ keys: ['od-probe-key-000000'] });
  report = await runProbe({
    key: 'od-probe-key-000000',
    baseUrl: sim.url,
    endpointId: 'predefined-openai-gpt4o',
    turns: 3,
    userAgent: 'probe-test/1',
    codeWord: 'cobalt-4242',
    log: () => {},
  });
});
afterAll(async () => sim.close());

it('makes the calls it announces', () => {
  const planned = plannedCalls(3);
  expect([report.queries, report.sessions]).toEqual([planned.queries, planned.sessions]);
  expect([sim.stats().queries, sim.stats().sessionsCreated]).toEqual([planned.queries, planned.sessions]);
});

it('continues one session with only the new turn, and replays the whole conversation into fresh sessions', () => {
  const turns = probeTurns(3, 'cobalt-4242');
  const bodies = sim.stats().queryBodies.map((b) => (b as { query: string }).query);
  expect(bodies.slice(0, 3)).toEqual(turns);
  expect(bodies[5]).toContain(`<user>\n${turns[0]}\n</user>`);
  expect(report.continuation.map((q) => q.inputTokens)).toEqual(turns.map((t) => simTokens(t)));
  expect(report.replay[2]?.inputTokens).toBeGreaterThan(report.continuation[2]?.inputTokens ?? Infinity);
  // the simulator keeps session memory: both arms recall, the context-free baseline does not
  expect(report.continuation[2]?.answer).toBe('The code word is cobalt-4242.');
  expect(report.replay[2]?.answer).toBe('The code word is cobalt-4242.');
  expect(report.baseline.answer).toBe('I do not know the code word.');
});

it('asks the long request in sync mode and streamed, and reports what each carried', () => {
  const sent = sim.stats().queryBodies as Array<{ query: string; responseMode: string }>;
  const long = sent.filter((b) => b.query.includes('200-word story') && !('modelConfigs' in b));
  expect(long.map((b) => b.responseMode)).toEqual(['sync', 'stream']);
  const { sync, stream } = report.sync;
  // the simulator answers sync as the reference documents it: completed, no usage
  expect(sync).toMatchObject({ httpStatus: 200, status: 'completed', inputTokens: undefined, outputTokens: undefined });
  expect(sync.answerTokens).toBeGreaterThan(0);
  expect(sync.answerTokens).toBe(stream.answerTokens);
  expect(stream.inputTokens).toBeGreaterThan(0);
  const line = formatReport(report)
    .split('\n')
    .find((l) => l.startsWith('- Sync mode'));
  expect(line).toMatch(/status `completed`, \d+ answer tokens in \d+\.\d s, usage absent\. The same request streamed: \d+ answer tokens/);
});

it('prints a table an operator can paste', () => {
  const text = formatReport(report);
  expect(text).toContain('| turn | query tokens sent');
  expect(text).toMatch(/\| recalls turn 1 at turn 3 \| \| yes \| yes \| \|/);
  expect(text).toContain('`modelConfigs.maxTokens: 16`');
  expect(text).toContain('Catalogue: 20 endpoints, 19 active; `endpoint_id` 20/20');
  expect(text).not.toContain('od-probe-key-000000');
});

it('refuses to run without a key, saying why', () => {
  const env = { ...process.env };
  delete env['ONDEMAND_APIKEYS'];
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/probe-live.ts'], { env, encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(2);
  expect(run.stderr).toContain('probe:live needs a real OnDemand key');
});
