/**
 * Replays of real OnDemand streams (test/fixtures/ondemand-captures): a loopback upstream answers the query with
 * one capture's bytes, written in random pieces (seeded), and the real gateway in front of it must return, through
 * the openai SDK, streamed and not, exactly the answer, the reasoning and the usage the capture holds. The expected
 * values are read from the capture here, independently of the gateway's frame parser.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNET_SEARCH_PLUGIN_ID, THINKING_TEXT, pluginAnswerText, startSimulator } from '../src/simulator/index.js';
import { CLIENT_KEY, startLoopbackUpstream, startTestGateway, type GatewayUnderTest, type LoopbackUpstream } from './harness.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'ondemand-captures');
const CAPTURES = readdirSync(FIXTURES)
  .filter((f) => f !== 'README.md' && !f.startsWith('.'))
  .sort();
const SEEDS = [1, 7, 42];

/**
 * What OnDemand sent, without the capturer's additions: the annotation header (everything before the first
 * `event:` or `data:` line), every line starting with `#`, and in the `apichat-*` files the capturing app's own
 * `data:{"type":...}` frames.
 */
function upstreamBody(file: string, raw: string): string {
  const lines = raw.split('\n');
  const first = lines.findIndex((l) => l.startsWith('event:') || l.startsWith('data:'));
  const text = lines
    .slice(first)
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  if (!file.startsWith('apichat-')) return text;
  return text
    .split('\n\n')
    .filter((block) => !/^(?:event:[^\n]*\n)?data:\{"type":/.test(block))
    .join('\n\n');
}

interface Expected {
  answer: string;
  reasoning: string;
  /** currentStatusLog.answer of the fulfillment_completed statusLog, when there is one */
  finalAnswer: string | undefined;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** the planner's and the plugin step's text (planning_* and step_* deltas), which must reach no client */
  plannerText: string[];
}

/** The answer, reasoning and usage a capture holds, read line by line with JSON.parse. */
function expectedFrom(body: string): Expected {
  let answer = '';
  let reasoning = '';
  let finalAnswer: string | undefined;
  let usage: Expected['usage'] | undefined;
  const plannerText: string[] = [];
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:{')) continue;
    const f = JSON.parse(line.slice('data:'.length)) as Record<string, any>;
    switch (f['eventType']) {
      case 'fulfillment':
        answer += f['answer'];
        break;
      case 'fulfillment_thinking':
        reasoning += f['thinking']['delta'];
        break;
      case 'statusLog':
        if (f['currentStatusLog']['statusType'] === 'fulfillment_completed') finalAnswer = f['currentStatusLog']['answer'];
        break;
      case 'metricsLog': {
        const m = f['publicMetrics'];
        usage = { prompt_tokens: m['inputTokens'], completion_tokens: m['outputTokens'], total_tokens: m['totalTokens'] };
        break;
      }
      case 'planning_thinking':
      case 'planning_output':
      case 'step_thinking':
      case 'step_output': {
        const delta: string = f['thinking']?.['delta'] ?? f['output']?.['delta'] ?? '';
        if (delta.trim().length >= 8) plannerText.push(delta);
        break;
      }
    }
  }
  if (usage === undefined) throw new Error('capture without metricsLog');
  return { answer, reasoning, finalAnswer, usage, plannerText };
}

/** mulberry32: a small seeded PRNG, so a failing split can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of 1 to 16 bytes half the time, else up to 2 KiB: cuts fall inside lines, JSON and UTF-8 characters. */
function randomPieces(bytes: Buffer, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = rand() < 0.5 ? 1 + Math.floor(rand() * 16) : 1 + Math.floor(rand() * 2048);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

const bodies = new Map(CAPTURES.map((f) => [f, upstreamBody(f, readFileSync(join(FIXTURES, f), 'utf8'))]));

/** What the loopback upstream serves next: a capture and the seed of its split. */
let serving: { file: string; seed: number } = { file: CAPTURES[0]!, seed: 1 };
let queries = 0;

async function serveQuery(res: ServerResponse): Promise<void> {
  queries++;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  res.flushHeaders();
  for (const piece of randomPieces(Buffer.from(bodies.get(serving.file)!, 'utf8'), serving.seed)) {
    if (res.destroyed) return;
    res.write(piece);
    await new Promise((r) => setImmediate(r)); // separate socket writes, so the gateway reads separate chunks
  }
  res.end();
}

let upstream: LoopbackUpstream;
let gw: GatewayUnderTest;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startLoopbackUpstream((res) => void serveQuery(res));
  gw = await startTestGateway(upstream.url, { keys: ['od-replay-key-000001'] });
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('the fixtures', () => {
  it('are all there, and each holds an answer, usage and (for the plugin runs) planner frames', () => {
    expect(CAPTURES).toEqual([
      'apichat-postfix-gpt56sol-low-20260720T2043Z.sse.log',
      'apichat-prefix-glm47-max-20260720T2039Z.sse.log',
      'diag-glm47-max-20260720T2036Z.sse.log',
      'glm47-cerebras-stream-20260720T043813Z.sse.log',
      'gpt-5.6-sol-max-reasoning.sse.log',
      'gpt-5.6-sol-medium-plugin-call.sse.log',
      'gpt56sol-agent-stream-20260720T045225Z.sse.log',
      'plugin-call-stream-raw.txt',
    ]);
    for (const file of CAPTURES) {
      const body = bodies.get(file)!;
      const e = expectedFrom(body);
      expect(e.answer.length, file).toBeGreaterThan(0);
      expect(e.finalAnswer, file).toBe(e.answer);
      expect(body, file).not.toMatch(/^#|"type":"(?:status|routing|plugin_status|done)"/m);
      expect(body.trimEnd().endsWith('data:[DONE]'), file).toBe(true);
      if (/plugin|agent|apichat/.test(file)) expect(e.plannerText.length, file).toBeGreaterThan(0);
    }
    expect(expectedFrom(bodies.get('diag-glm47-max-20260720T2036Z.sse.log')!).reasoning.length).toBeGreaterThan(0);
    expect(expectedFrom(bodies.get('gpt-5.6-sol-max-reasoning.sse.log')!).reasoning).toBe('');
  });
});

/** The simulator's own Internet Search run, recorded from its wire like a capture and replayed the same way. */
const SIM_RUN = 'simulator plugin run';
const SIM_QUERY = 'What causes ocean tides — and how high are they today?';

async function recordSimulatorRun(): Promise<string> {
  const sim = await startSimulator({ pluginDelayMs: 0 });
  try {
    const headers = { apikey: 'k', 'user-agent': 'ondemand-gateway-tests/1.0', 'content-type': 'application/json' };
    const session = (await (await fetch(`${sim.url}/chat/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ externalUserId: 'u' }) })).json()) as {
      data: { id: string };
    };
    const body = { query: SIM_QUERY, endpointId: 'predefined-openai-gpt4o', responseMode: 'stream', pluginIds: [INTERNET_SEARCH_PLUGIN_ID], reasoningEffort: 'low' };
    return await (await fetch(`${sim.url}/chat/v1/sessions/${session.data.id}/query`, { method: 'POST', headers, body: JSON.stringify(body) })).text();
  } finally {
    await sim.close();
  }
}

bodies.set(SIM_RUN, await recordSimulatorRun());

describe('the simulator plugin run', () => {
  it('holds the planner frames, the cited answer and the reasoning the simulator promises', () => {
    const e = expectedFrom(bodies.get(SIM_RUN)!);
    expect(e.answer).toBe(pluginAnswerText(SIM_QUERY));
    expect(e.finalAnswer).toBe(e.answer);
    expect(e.reasoning).toBe(THINKING_TEXT);
    expect(e.plannerText.length).toBeGreaterThan(0);
  });
});

describe.each([...CAPTURES, SIM_RUN])('replaying %s through the gateway', (file) => {
  const expected = expectedFrom(bodies.get(file)!);

  // Planner pieces the model's own answer or reasoning also contains (GLM starts both with the same heading) prove
  // nothing; the exact equalities in the tests already rule out any leak, this names the piece if one happens.
  const telling = expected.plannerText.filter((p) => !expected.answer.includes(p) && !expected.reasoning.includes(p));
  const noPlannerLeak = (text: string): void => {
    for (const piece of telling) expect(text.includes(piece), `planner text leaked: ${JSON.stringify(piece)}`).toBe(false);
  };
  if (expected.plannerText.length > 0) it('has planner pieces to look for', () => expect(telling.length).toBeGreaterThan(0));

  it.each(SEEDS)('non-streamed, pieces seeded %i: exact answer, reasoning and usage', async (seed) => {
    serving = { file, seed };
    const before = queries;
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'replay' }] });
    expect(queries - before).toBe(1);
    const message = res.choices[0]?.message as unknown as { content: string; reasoning_content?: string };
    expect(message.content).toBe(expected.answer);
    expect(message.reasoning_content ?? '').toBe(expected.reasoning);
    expect(res.usage).toEqual(expected.usage);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    noPlannerLeak(message.content);
    noPlannerLeak(message.reasoning_content ?? '');
  });

  it.each(SEEDS)('streamed, pieces seeded %i: exact answer, reasoning and usage', async (seed) => {
    serving = { file, seed };
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'replay' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let reasoning = '';
    const finishes: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta as { content?: string | null; reasoning_content?: string };
      content += delta.content ?? '';
      reasoning += delta.reasoning_content ?? '';
      if (choice.finish_reason) finishes.push(choice.finish_reason);
    }
    expect(content).toBe(expected.answer);
    expect(reasoning).toBe(expected.reasoning);
    expect(usage).toEqual(expected.usage);
    expect(finishes).toEqual(['stop']);
    noPlannerLeak(content);
    noPlannerLeak(reasoning);
  });
});
