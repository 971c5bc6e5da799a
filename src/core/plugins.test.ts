import { describe, expect, it } from 'vitest';
import { UpstreamFailure } from '../ondemand/failure.js';
import { decide, judgeKey } from './failure-policy.js';
import { CitationFilter, locationSection, resolvePluginIds, webSearchRuns, withWebSearchPolicy, type PluginSettings, type WebSearchWhenOffered } from './plugins.js';
import type { GatewayError } from './errors.js';
import { DEFAULT_PLUGIN_SETTINGS } from './test-helpers.js';
import type { GatewayRequest, Message, WebSearchOptions } from './types.js';

const base: GatewayRequest = {
  api: 'chat',
  requestedModel: 'gpt-4o',
  messages: [{ role: 'user', content: 'hi' }],
  params: {},
  stream: false,
  webSearchParam: 'web_search_options',
};
const req = (extra: Partial<GatewayRequest>): GatewayRequest => ({ ...base, ...extra });
const WS = 'plugin-1713924030';
const settings = (allowed: string[] = []): PluginSettings => ({ webSearchId: WS, allowed });

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('when a web search runs (WEB_SEARCH_WHEN_OFFERED)', () => {
  const userTurn: Message[] = [{ role: 'user', content: 'latest node release?' }];
  const toolLoop: Message[] = [
    { role: 'user', content: 'update the dependency' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'exec_command', arguments: '{"cmd":"cat package.json"}' }] },
    { role: 'tool', toolCallId: 'c1', content: '{}' },
  ];
  const offered: WebSearchOptions = { mode: 'offered' };
  const required: WebSearchOptions = { mode: 'required' };
  it.each<[string, WebSearchOptions, Message[], WebSearchWhenOffered, boolean]>([
    ['offered on a user turn, user_turn', offered, userTurn, 'user_turn', true],
    ['offered in a tool loop, user_turn', offered, toolLoop, 'user_turn', false],
    ['offered in a tool loop, always', offered, toolLoop, 'always', true],
    ['offered on a user turn, never', offered, userTurn, 'never', false],
    ['required in a tool loop, never', required, toolLoop, 'never', true],
    ["chat's switch (no mode: required), never", {}, toolLoop, 'never', true],
  ])('%s → %s', (_name, webSearch, messages, policy, runs) => {
    const request = req({ messages, plugins: { webSearch, ids: ['plugin-2'] } });
    expect(webSearchRuns(request, policy)).toBe(runs);
    const asRun = withWebSearchPolicy(request, { ...settings(['plugin-2']), webSearchWhenOffered: policy });
    expect(asRun.plugins).toEqual(runs ? { webSearch, ids: ['plugin-2'] } : { ids: ['plugin-2'] });
    expect(resolvePluginIds(asRun, settings(['plugin-2']))).toEqual(runs ? [WS, 'plugin-2'] : ['plugin-2']);
  });

  it('the default policy is user_turn; an idle search leaves no plugins at all', () => {
    const request = req({ messages: toolLoop, plugins: { webSearch: offered } });
    expect(webSearchRuns(request)).toBe(false);
    const asRun = withWebSearchPolicy(request, settings());
    expect(asRun.plugins).toBeUndefined();
    expect(resolvePluginIds(asRun, settings())).toEqual([]);
    expect(withWebSearchPolicy(base, settings())).toBe(base);
  });
});

describe('resolvePluginIds', () => {
  it('a plain request sends no plugins', () => {
    expect(resolvePluginIds(base, DEFAULT_PLUGIN_SETTINGS)).toEqual([]);
  });

  it.each<[string, Partial<GatewayRequest>, string[], string[]]>([
    ['web search', { plugins: { webSearch: {} } }, [], [WS]],
    ['web search under another id', { plugins: { webSearch: {} } }, [], [WS]],
    ['model defaults first, then the asked, without repeats', { modelPlugins: ['plugin-1', WS], plugins: { webSearch: {}, ids: ['plugin-1'] } }, [], ['plugin-1', WS]],
    ['an allowed extra id', { plugins: { ids: ['plugin-2'] } }, ['plugin-2'], ['plugin-2']],
    ['"*" allows any well-formed id', { plugins: { ids: ['agent-abc'] } }, ['*'], ['agent-abc']],
    ['a key allowing web_search by name', { plugins: { webSearch: {} }, allowedPlugins: ['web_search'] }, [], [WS]],
    ['a model default the key may not use is left out', { modelPlugins: ['plugin-1'], allowedPlugins: [] }, [], []],
  ])('%s', (_name, extra, allowed, expected) => {
    expect(resolvePluginIds(req(extra), settings(allowed))).toEqual(expected);
  });

  it('an id the gateway does not allow is a 400 unknown_plugin', () => {
    const err = refusal(() => resolvePluginIds(req({ plugins: { ids: ['plugin-999'] } }), settings()));
    expect([err.status, err.code, err.param]).toEqual([400, 'unknown_plugin', 'ondemand_plugins']);
  });

  it('a plugin the client key may not use is a 400 plugin_not_allowed, naming the switch', () => {
    const chat = refusal(() => resolvePluginIds(req({ plugins: { webSearch: {} }, allowedPlugins: [] }), settings()));
    expect([chat.status, chat.code, chat.param]).toEqual([400, 'plugin_not_allowed', 'web_search_options']);
    const responses = refusal(() => resolvePluginIds(req({ api: 'responses', webSearchParam: undefined, plugins: { webSearch: {} }, allowedPlugins: ['plugin-2'] }), settings()));
    expect([responses.code, responses.param]).toEqual(['plugin_not_allowed', 'tools']);
  });

  it('more than 20 plugins is a 400', () => {
    const ids = Array.from({ length: 21 }, (_, i) => `plugin-${i}`);
    expect(refusal(() => resolvePluginIds(req({ plugins: { ids } }), settings(['*']))).code).toBe('too_many_plugins');
  });
});

describe('the web search stage', () => {
  it('puts the user location into a line of the query', () => {
    expect(locationSection(req({ plugins: { webSearch: { userLocation: { city: 'Paris', country: 'FR', timezone: 'Europe/Paris' } } } }))).toBe(
      "The user's approximate location: Paris, FR. The user's time zone: Europe/Paris.",
    );
    expect(locationSection(req({ plugins: { webSearch: {} } }))).toBeUndefined();
  });

  it('passes events on and adds the citations just before the end', () => {
    const filter = new CitationFilter();
    const out = [
      ...filter.push({ type: 'plugin_call', call: { pluginId: WS, name: 'fetchInternetData', query: 'q', webSearch: true } }),
      ...filter.push({ type: 'text', text: 'See [A](https://a.exa' }),
      ...filter.push({ type: 'text', text: 'mple).' }),
      ...filter.push({ type: 'end', finishReason: 'stop' }),
      ...filter.push({ type: 'usage', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2, estimated: false } }),
    ];
    expect(out.map((e) => e.type)).toEqual(['plugin_call', 'text', 'text', 'citations', 'end', 'usage']);
    expect(out[3]).toEqual({ type: 'citations', citations: [{ url: 'https://a.example', title: 'A', startIndex: 4, endIndex: 26 }] });
  });
});

describe('plugin_execution_timeout', () => {
  const timeout = new UpstreamFailure('HTTP 504', {
    kind: 'http',
    phase: 'query',
    status: 504,
    errorCode: 'plugin_execution_timeout',
    upstreamMessage: 'Plugin execution timed out',
  });
  const situation = { hasNextModel: true, msLeft: 10_000, attemptsLeft: 3, answerStarted: false, keysTried: 1, keysLeft: 4 };

  it('never blames the key nor trips the circuit', () => {
    expect(judgeKey(timeout)).toMatchObject({ cls: 'transient', punish: false, circuit: 'ignored' });
  });

  it('is a clear 504 for the client, never retried, before or after the stream started', () => {
    for (const answerStarted of [false, true]) {
      const { next } = decide(timeout, { ...situation, answerStarted });
      expect(next.do).toBe('fail');
      if (next.do !== 'fail') continue;
      expect([next.error.status, next.error.code, next.error.type]).toEqual([504, 'plugin_execution_timeout', 'timeout_error']);
      expect(next.error.message).toMatch(/2\.5 minutes/);
    }
  });

  it('inside the stream too', () => {
    const inStream = new UpstreamFailure('x', { kind: 'stream_error', phase: 'stream', errorCode: 'plugin_execution_timeout' });
    expect(judgeKey(inStream).punish).toBe(false);
    expect(decide(inStream, situation).next).toMatchObject({ do: 'fail' });
  });
});
