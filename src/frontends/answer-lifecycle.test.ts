import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import type { GatewayEvent, PluginCall, ToolCall, Usage } from '../core/types.js';
import { AnswerLifecycle, type AnswerWriter, wholeAnswerOf } from './answer-lifecycle.js';

const usage: Usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15, estimated: false };
const call = (id: string): ToolCall => ({ id, name: 'f', arguments: '{}' });
const search = (query: string): PluginCall => ({ pluginId: 'web', name: 'search', query, webSearch: true });
const otherPlugin: PluginCall = { pluginId: 'x', name: 'x', query: undefined, webSearch: false };
const failure = new GatewayError('gone', { status: 502, type: 'api_error' });

/** A writer that writes what the lifecycle asked of it, one step a line. */
const tracer: AnswerWriter = {
  start: () => 'start\n',
  begin: () => 'begin\n',
  open: (part) => `open ${part}\n`,
  text: (text) => `text ${text}\n`,
  reasoning: (text) => `reasoning ${text}\n`,
  close: (part, finish) => `close ${part}${finish === undefined ? '' : ` ${finish}`}\n`,
  toolCalls: (calls, first) => `calls ${calls.map((c, i) => `${first + i}:${c.id}`).join(',')}\n`,
  webSearch: (c) => `search ${c.query ?? ''}\n`,
  citations: (list) => `citations ${list.length}\n`,
  finish: (reason, state) => `finish ${reason} usage ${state.usage?.totalTokens ?? 'none'} searches ${state.webSearches}\n`,
  done: (state) => `done usage ${state.usage?.totalTokens ?? 'none'}\n`,
  fail: (err, state) => `fail ${err.status} usage ${state.usage?.totalTokens ?? 'none'}\n`,
};

function trace(events: GatewayEvent[], ending: 'done' | 'error'): string[] {
  const life = new AnswerLifecycle(tracer, 'test encoder');
  let out = life.start();
  for (const event of events) out += life.encode(event);
  out += ending === 'done' ? life.done() : life.error(failure);
  // a second ending adds nothing
  out += life.done() + life.error(failure);
  return out.split('\n').filter((line) => line !== '');
}

describe('the answer lifecycle: events → the steps a writer is asked for', () => {
  it.each<[string, GatewayEvent[], 'done' | 'error', string[]]>([
    ['an empty answer still begins and finishes', [{ type: 'end', finishReason: 'stop' }], 'done', ['start', 'begin', 'finish stop usage none searches 0', 'done usage none']],
    [
      'text grows one open part; the end closes it with its reason',
      [
        { type: 'text', text: 'Hel' },
        { type: 'text', text: 'lo' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'length' },
      ],
      'done',
      ['start', 'begin', 'open text', 'text Hel', 'text lo', 'close text length', 'finish length usage 15 searches 0', 'done usage 15'],
    ],
    [
      'switching kind closes the open part; empty pieces are nothing',
      [
        { type: 'reasoning', text: 'hm' },
        { type: 'reasoning', text: '' },
        { type: 'text', text: '' },
        { type: 'text', text: 'a' },
        { type: 'reasoning', text: 'again' },
        { type: 'end', finishReason: 'stop' },
      ],
      'done',
      [
        'start',
        'begin',
        'open reasoning',
        'reasoning hm',
        'close reasoning',
        'open text',
        'text a',
        'close text',
        'open reasoning',
        'reasoning again',
        'close reasoning stop',
        'finish stop usage none searches 0',
        'done usage none',
      ],
    ],
    [
      'tool calls close the text and count on across events; an empty list is nothing',
      [
        { type: 'text', text: 'a' },
        { type: 'tool_calls', calls: [call('x'), call('y')] },
        { type: 'tool_calls', calls: [] },
        { type: 'tool_calls', calls: [call('z')] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      'done',
      ['start', 'begin', 'open text', 'text a', 'close text', 'calls 0:x,1:y', 'calls 2:z', 'finish tool_calls usage none searches 0', 'done usage none'],
    ],
    [
      'every web search is a part of its own; another plugin only begins the answer; empty citations do not',
      [
        { type: 'citations', citations: [] },
        { type: 'plugin_call', call: otherPlugin },
        { type: 'plugin_call', call: search('a') },
        { type: 'plugin_call', call: search('b') },
        { type: 'text', text: 't' },
        { type: 'citations', citations: [{ url: 'u', title: 't', startIndex: 0, endIndex: 1 }] },
        { type: 'end', finishReason: 'stop' },
      ],
      'done',
      [
        'start',
        'citations 0',
        'begin',
        'search a',
        'close web_search',
        'search b',
        'close web_search',
        'open text',
        'text t',
        'citations 1',
        'close text stop',
        'finish stop usage none searches 2',
        'done usage none',
      ],
    ],
    [
      'after the end only a late usage counts, and done() writes it',
      [
        { type: 'end', finishReason: 'stop' },
        { type: 'text', text: 'late' },
        { type: 'end', finishReason: 'length' },
        { type: 'usage', usage },
      ],
      'done',
      ['start', 'begin', 'finish stop usage none searches 0', 'done usage 15'],
    ],
    [
      'a failure mid-text: the open part is not closed, and the failure is written once',
      [{ type: 'text', text: 'a' }],
      'error',
      ['start', 'begin', 'open text', 'text a', 'fail 502 usage none'],
    ],
    ['a failure before anything', [], 'error', ['start', 'fail 502 usage none']],
    [
      'a failure after the end (the stored state could not be kept)',
      [{ type: 'end', finishReason: 'stop' }],
      'error',
      ['start', 'begin', 'finish stop usage none searches 0', 'fail 502 usage none'],
    ],
  ])('%s', (_name, events, ending, expected) => {
    expect(trace(events, ending)).toEqual(expected);
  });

  it('done() before the end throws: a stream without an end must end with error()', () => {
    const life = new AnswerLifecycle(tracer, 'test encoder');
    life.encode({ type: 'text', text: 'a' });
    expect(() => life.done()).toThrow('test encoder: done() before the end event; end a failed stream with error()');
    expect(life.error(failure)).toBe('fail 502 usage none\n');
  });
});

describe('the whole answer: the same lifecycle, recorded', () => {
  it.each<[string, GatewayEvent[], ReturnType<typeof wholeAnswerOf>]>([
    [
      'nothing: estimated-empty usage and a normal stop',
      [],
      { parts: [], text: '', reasoning: '', toolCalls: [], webSearches: [], usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true }, finishReason: 'stop' },
    ],
    [
      'the parts in stream order, and each kind joined',
      [
        { type: 'plugin_call', call: search('q') },
        { type: 'reasoning', text: 'hm' },
        { type: 'reasoning', text: 'm' },
        { type: 'text', text: 'Hel' },
        { type: 'text', text: '' },
        { type: 'text', text: 'lo' },
        { type: 'tool_calls', calls: [call('a')] },
        { type: 'tool_calls', calls: [call('b')] },
        { type: 'citations', citations: [] },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      {
        parts: [
          { kind: 'web_search', call: search('q') },
          { kind: 'reasoning', text: 'hmm' },
          { kind: 'text', text: 'Hello' },
          { kind: 'tool_call', call: call('a') },
          { kind: 'tool_call', call: call('b') },
        ],
        text: 'Hello',
        reasoning: 'hmm',
        toolCalls: [call('a'), call('b')],
        webSearches: [search('q')],
        citations: [],
        usage,
        finishReason: 'tool_calls',
      },
    ],
    [
      'interleaved kinds stay apart, as a stream opens them',
      [
        { type: 'text', text: 'a' },
        { type: 'reasoning', text: 'r' },
        { type: 'text', text: 'b' },
        { type: 'end', finishReason: 'stop' },
        { type: 'text', text: 'after the end' },
        { type: 'usage', usage },
      ],
      {
        parts: [
          { kind: 'text', text: 'a' },
          { kind: 'reasoning', text: 'r' },
          { kind: 'text', text: 'b' },
        ],
        text: 'ab',
        reasoning: 'r',
        toolCalls: [],
        webSearches: [],
        usage,
        finishReason: 'stop',
      },
    ],
  ])('%s', (_name, events, expected) => {
    expect(wholeAnswerOf(events)).toEqual(expected);
  });
});
