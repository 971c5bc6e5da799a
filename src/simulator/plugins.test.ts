/**
 * Plugin runs in the simulator: the planner and plugin-call frames shaped like the captured live streams, the
 * deterministic search and answer, the failure and timeout markers, the plugin delay with heartbeats, and the
 * plugin ids it does not know.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  INTERNET_SEARCH_PLUGIN_ID,
  PLANNING_THINKING_TEXT,
  PLUGIN_FAILURE_REASON,
  PLUGIN_TIMEOUT_MESSAGE,
  THINKING_TEXT,
  citedSources,
  defaultAnswerText,
  pluginAnswer,
  pluginAnswerText,
  pluginCallJson,
  pluginFailureText,
  pluginPlanJson,
  searchQueryFor,
  simUsage,
  startSimulator,
  type Simulator,
} from './index.js';

const HEADERS = { apikey: 'k1', 'user-agent': 'ondemand-gateway-tests/1.0', 'content-type': 'application/json' };
const ENDPOINT = 'predefined-openai-gpt4o';
const SEARCH = [INTERNET_SEARCH_PLUGIN_ID];

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ keys: ['k1'], pluginDelayMs: 0 });
});
afterAll(async () => sim.close());
beforeEach(() => sim.reset());

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await request(`${sim.url}${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  return { status: res.statusCode, text: await res.body.text() };
}

async function newSession(pluginIds?: string[]): Promise<string> {
  const r = await post('/chat/v1/sessions', { externalUserId: 'u-1', ...(pluginIds ? { pluginIds } : {}) });
  expect(r.status).toBe(201);
  return (JSON.parse(r.text) as { data: { id: string } }).data.id;
}

async function query(q: string, extra: Record<string, unknown> = {}, pluginIds: string[] | null = SEARCH, session?: string): Promise<{ status: number; text: string }> {
  const sid = session ?? (await newSession());
  return post(`/chat/v1/sessions/${sid}/query`, { query: q, endpointId: ENDPOINT, responseMode: 'stream', ...(pluginIds ? { pluginIds } : {}), ...extra });
}

interface Frame {
  event: string | undefined;
  data: string;
  json: Record<string, any> | undefined;
}

/** Frames as the simulator writes them: `event:x\ndata:y\n\n` or `data:y\n\n`. */
function frames(raw: string): Frame[] {
  expect(raw.endsWith('\n\n')).toBe(true);
  return raw
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.length === 2 ? lines[0]!.replace(/^event:/, '') : undefined;
      const data = lines[lines.length - 1]!.replace(/^data:/, '');
      let json: Record<string, any> | undefined;
      try {
        json = JSON.parse(data);
      } catch {
        json = undefined;
      }
      return { event, data, json };
    });
}

const typeOf = (f: Frame): string => (f.json ? (f.json['eventType'] ?? 'heartbeat') : f.data);
const deltasOf = (fs: Frame[], eventType: string): string =>
  fs
    .filter((f) => f.json?.['eventType'] === eventType)
    .map((f) => f.json?.['answer'] ?? f.json?.['thinking']?.['delta'] ?? f.json?.['output']?.['delta'])
    .join('');

describe('searchQueryFor, citedSources, pluginAnswer', () => {
  it('searches for the last user message, flattened and trimmed', () => {
    expect(searchQueryFor('  What is the weather\n in  Abu Dhabi?  ')).toBe('What is the weather in Abu Dhabi?');
    const transcript =
      'The following is a conversation...\n\n<user>\nfirst question\n</user>\n\n<assistant>\nan answer\n</assistant>\n\n<user name="ada">\nlatest  news\non tides\n</user>';
    expect(searchQueryFor(transcript)).toBe('latest news on tides');
    expect(Array.from(searchQueryFor('x'.repeat(300)))).toHaveLength(200);
  });

  it('cites three fixed sources as markdown links in a Sources paragraph', () => {
    const s = citedSources('What is the weather in Abu Dhabi?');
    expect(s.map((x) => x.url)).toEqual([
      'https://www.example.com/wiki/what-is-the-weather-in-abu-dhabi',
      'https://news.example.org/articles/what-is-the-weather-in-abu-dhabi',
      'https://data.example.net/search?q=what-is-the-weather-in-abu-dhabi',
    ]);
    expect(citedSources('???')[0]?.url).toBe('https://www.example.com/wiki/search');
    const text = pluginAnswerText('What is the weather in Abu Dhabi?');
    expect(text).toBe(
      'Here is what a web search for "What is the weather in Abu Dhabi?" found, as the OnDemand simulator\'s Internet Search reports it.\n\n' +
        `Sources: ${s.map((x) => `[${x.title}](${x.url})`).join(', ')}`,
    );
    expect(pluginAnswer('q SIM_PLUGIN_FAIL')).toBe(pluginFailureText('q SIM_PLUGIN_FAIL'));
    expect(pluginFailureText('q')).toContain(PLUGIN_FAILURE_REASON);
  });

  it('the default answer function answers plugin runs with the cited answer and others as before', () => {
    const ctx = { query: 'tides', endpointId: ENDPOINT, sessionId: 's', history: [] };
    expect(defaultAnswerText({ ...ctx, pluginIds: SEARCH })).toBe(pluginAnswerText('tides'));
    expect(defaultAnswerText(ctx)).toBe(`Hello from the OnDemand simulator (${ENDPOINT}). You said: tides`);
  });
});

describe('a plugin run on the wire', () => {
  it('streams planner and plugin-call frames shaped like the captures, then the cited answer', async () => {
    const q = 'Weather in Abu Dhabi & Dubai — today?';
    const r = await query(q, { reasoningEffort: 'low' });
    expect(r.status).toBe(200);
    const fs = frames(r.text);
    const search = searchQueryFor(q);
    const answer = pluginAnswerText(q);

    // the order of the frame families, as in the captured gpt-5.6-sol plugin runs
    const order = fs.map(typeOf).filter((t, i, a) => t !== a[i - 1]);
    expect(order).toEqual([
      'heartbeat',
      'planning_thinking',
      'planning_output',
      'planning_thinking',
      'planning_output',
      'step_output',
      'step_thinking',
      'step_output',
      'statusLog',
      'fulfillment_thinking',
      'fulfillment',
      'statusLog',
      'metricsLog',
      'heartbeat',
      '[DONE]',
    ]);

    // every frame family's exact shape: event name, field order, spacing
    const id = '[0-9a-f]{24}';
    const time = '"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"';
    const shapes: Record<string, RegExp> = {
      heartbeat: new RegExp(`^{"sessionId":"${id}","messageId":"${id}","time":${time}}$`),
      planning_thinking: new RegExp(
        `^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"planning_thinking","status":"processing","thinking":{"delta":".*"}}$`,
      ),
      planning_output: new RegExp(`^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"planning_output","status":"processing","output":{"delta":".*"}}$`),
      step_thinking: new RegExp(`^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"step_thinking","status":"processing","thinking":{"delta":".*"}}$`),
      step_output: new RegExp(`^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"step_output","status":"processing","output":{"delta":".*"}}$`),
      fulfillment_thinking: new RegExp(
        `^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"fulfillment_thinking","status":"processing","thinking":{"delta":".*"}}$`,
      ),
      statusLog: new RegExp(
        `^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"statusLog","status":"processing","currentStatusLog":{"statusType":"[a-z_]+","statusMessage":"[^"]+",("answer":".*",)?"time":${time}}}$`,
      ),
      fulfillment: new RegExp(`^{"sessionId": "${id}", "messageId": "${id}", "answer": ".*", "status": "processing", "eventIndex":\\d+, "eventType": "fulfillment"}$`),
      metricsLog: new RegExp(
        `^{"sessionId":"${id}","messageId":"${id}","eventIndex":\\d+,"eventType":"metricsLog","status":"processing","publicMetrics":{"inputTokens":\\d+,"outputTokens":\\d+,"totalTokens":\\d+,"ragTimeSec":[\\d.]+,"fulfillmentTimeSec":[\\d.]+,"totalTimeSec":[\\d.]+}}$`,
      ),
    };
    const events: Record<string, string> = { heartbeat: 'heartbeat', statusLog: 'message', fulfillment: 'message', metricsLog: 'message', '[DONE]': 'message' };
    for (const f of fs) {
      const t = typeOf(f);
      expect(f.event, t).toBe(events[t] ?? 'thinking');
      if (t !== '[DONE]') expect(f.data, t).toMatch(shapes[t]!);
    }
    // non-ASCII: \uXXXX in fulfillment frames, raw elsewhere; & < > escaped in compact frames
    const fulfilment = fs.filter((f) => typeOf(f) === 'fulfillment').map((f) => f.data);
    expect(fulfilment.some((d) => d.includes('\\u2014'))).toBe(true);
    expect(fulfilment.every((d) => /^[\x20-\x7e]*$/.test(d))).toBe(true);
    const plan = fs.filter((f) => typeOf(f) === 'planning_output').map((f) => f.data);
    expect(plan.join('')).toContain('—');
    expect(plan.join('')).toContain('\\u0026');

    // eventIndex counts per event: channel
    const indexes = (event: string): number[] => fs.filter((f) => f.event === event && f.json?.['eventIndex'] !== undefined).map((f) => f.json!['eventIndex'] as number);
    const thinkingIdx = indexes('thinking');
    expect(thinkingIdx).toEqual(thinkingIdx.map((_, i) => i + 1));
    const messageIdx = indexes('message');
    expect(messageIdx).toEqual(messageIdx.map((_, i) => i + 1));

    // the content
    expect(deltasOf(fs, 'planning_thinking')).toBe(PLANNING_THINKING_TEXT);
    expect(deltasOf(fs, 'planning_output')).toBe(pluginPlanJson(search));
    const call = JSON.parse(deltasOf(fs, 'step_output'));
    expect(deltasOf(fs, 'step_output')).toBe(pluginCallJson(search));
    expect(call.plugins[0]).toMatchObject({ pluginId: INTERNET_SEARCH_PLUGIN_ID, name: 'fetchInternetData', api_request_parameters: { query: search }, identifier: 'rest_api' });
    expect(deltasOf(fs, 'step_thinking')).toBe('');
    expect(deltasOf(fs, 'fulfillment_thinking')).toBe(THINKING_TEXT);
    expect(deltasOf(fs, 'fulfillment')).toBe(answer);
    for (const s of citedSources(search)) expect(answer).toContain(`(${s.url})`);
    const statuses = fs.filter((f) => typeOf(f) === 'statusLog').map((f) => f.json!['currentStatusLog']);
    expect(statuses[0]).toMatchObject({ statusType: 'fulfilling', statusMessage: 'Fulfilling the prompt...' });
    expect(statuses[1]).toMatchObject({ statusType: 'fulfillment_completed', statusMessage: 'Fulfillment completed', answer });
    const usage = simUsage(q, answer);
    expect(fs.find((f) => typeOf(f) === 'metricsLog')?.json?.['publicMetrics']).toMatchObject({ ...usage, ragTimeSec: 0 });
    expect(fs[fs.length - 1]).toEqual({ event: 'message', data: '[DONE]', json: undefined });
  });

  it("uses the session's pluginIds when the query has none; a query's empty list turns them off; fulfillmentOnly skips them", async () => {
    const sid = await newSession(SEARCH);
    const fromSession = frames((await query('tides', {}, null, sid)).text);
    expect(deltasOf(fromSession, 'fulfillment')).toBe(pluginAnswerText('tides'));
    expect(fromSession.some((f) => typeOf(f) === 'step_output')).toBe(true);

    const off = frames((await query('tides', {}, [], await newSession(SEARCH))).text);
    expect(off.some((f) => typeOf(f) === 'planning_output')).toBe(false);
    expect(deltasOf(off, 'fulfillment')).toBe(`Hello from the OnDemand simulator (${ENDPOINT}). You said: tides`);

    const only = frames((await query('tides', { fulfillmentOnly: true })).text);
    expect(only.some((f) => typeOf(f) === 'planning_output')).toBe(false);
    expect(deltasOf(only, 'fulfillment')).toBe(`Hello from the OnDemand simulator (${ENDPOINT}). You said: tides`);
  });

  it('answers a plugin id it does not know with a 400, from the query or from the session', async () => {
    expect(await query('tides', {}, ['plugin-0000000000'])).toEqual({
      status: 400,
      text: JSON.stringify({ errorCode: 'invalid_request', message: 'Invalid pluginId: plugin-0000000000' }),
    });
    const sid = await newSession(['agent-unknown']);
    expect((await query('tides', {}, null, sid)).status).toBe(400);
  });

  it('writes a plugin failure into the answer (SIM_PLUGIN_FAIL) and ends normally', async () => {
    const q = 'tides SIM_PLUGIN_FAIL';
    const fs = frames((await query(q)).text);
    expect(fs.some((f) => typeOf(f) === 'step_output')).toBe(true);
    expect(deltasOf(fs, 'fulfillment')).toBe(pluginFailureText(q));
    expect(deltasOf(fs, 'fulfillment')).toContain(PLUGIN_FAILURE_REASON);
    expect(fs[fs.length - 1]?.data).toBe('[DONE]');
  });

  it('times out with a 504 plugin_execution_timeout (SIM_PLUGIN_TIMEOUT), streamed or sync, after the plugin delay', async () => {
    sim.setOptions({ pluginDelayMs: 60 });
    const started = Date.now();
    const r = await query('tides SIM_PLUGIN_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(r).toEqual({ status: 504, text: JSON.stringify({ errorCode: 'plugin_execution_timeout', message: PLUGIN_TIMEOUT_MESSAGE }) });
    expect((await query('tides SIM_PLUGIN_TIMEOUT', { responseMode: 'sync' })).status).toBe(504);
    expect((await query('tides SIM_PLUGIN_TIMEOUT_STREAM', { responseMode: 'sync' })).status).toBe(504);
    // no plugin, no plugin timeout
    expect((await query('tides SIM_PLUGIN_TIMEOUT', {}, [])).status).toBe(200);
  });

  it('times out inside the stream (SIM_PLUGIN_TIMEOUT_STREAM): plugin frames, then an [ERROR] frame, no answer, no [DONE]', async () => {
    const fs = frames((await query('tides SIM_PLUGIN_TIMEOUT_STREAM')).text);
    expect(fs.some((f) => typeOf(f) === 'step_output')).toBe(true);
    expect(fs.some((f) => typeOf(f) === 'fulfillment' || f.data === '[DONE]')).toBe(false);
    expect(fs[fs.length - 1]).toEqual({
      event: undefined,
      data: `[ERROR]:${JSON.stringify({ message: PLUGIN_TIMEOUT_MESSAGE, errorCode: 'plugin_execution_timeout' })}`,
      json: undefined,
    });
    expect(sim.stats().byKey['k1']?.failures).toBe(1);
  });

  it('waits pluginDelayMs between the plugin call and the answer, with heartbeats, and reports it as ragTimeSec', async () => {
    sim.setOptions({ pluginDelayMs: 200, heartbeatMs: 40 });
    const fs = frames((await query('tides')).text);
    const types = fs.map(typeOf);
    const lastStep = types.lastIndexOf('step_output');
    const fulfilling = types.indexOf('statusLog');
    const beats = types.slice(lastStep, fulfilling).filter((t) => t === 'heartbeat').length;
    expect(beats).toBeGreaterThanOrEqual(2);
    expect(fs.find((f) => typeOf(f) === 'metricsLog')?.json?.['publicMetrics']['ragTimeSec']).toBe(0.2);
    expect(deltasOf(fs, 'fulfillment')).toBe(pluginAnswerText('tides'));
  });

  it('answers a sync plugin query with the cited answer', async () => {
    const r = await query('tides', { responseMode: 'sync' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).data.answer).toBe(pluginAnswerText('tides'));
  });
});
