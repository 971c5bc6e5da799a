import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FinishReason, GatewayEvent, ToolSpec } from '../types.js';
import { opensToolCall, parseToolAnswer, ToolCallFilter } from './parser.js';

const tools: ToolSpec[] = [
  {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city'], additionalProperties: false },
  },
  { name: 'now' },
];

/** Runs text pieces through the filter, ending with `finish`; ids are call_1, call_2, ... */
function run(pieces: string[], finish: FinishReason = 'stop', extra: GatewayEvent[] = []): { events: GatewayEvent[]; malformed: string[] } {
  let n = 0;
  const malformed: string[] = [];
  const filter = new ToolCallFilter({ tools, newId: () => `call_${++n}`, onMalformed: (r) => malformed.push(r) });
  const events: GatewayEvent[] = [];
  for (const text of pieces) events.push(...filter.push({ type: 'text', text }));
  for (const e of extra) events.push(...filter.push(e));
  events.push(...filter.push({ type: 'end', finishReason: finish }));
  return { events, malformed };
}

/** adjacent text events merged, so tables compare meaning, not chunking */
function merged(events: GatewayEvent[]): GatewayEvent[] {
  const out: GatewayEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === 'text' && last?.type === 'text') out[out.length - 1] = { type: 'text', text: last.text + e.text };
    else out.push(e);
  }
  return out;
}

const text = (t: string): GatewayEvent => ({ type: 'text', text: t });
const end = (finishReason: FinishReason): GatewayEvent => ({ type: 'end', finishReason });
const calls = (...list: Array<[string, string]>): GatewayEvent => ({
  type: 'tool_calls',
  calls: list.map(([name, args], i) => ({ id: `call_${i + 1}`, name, arguments: args })),
});

describe('opensToolCall', () => {
  it.each([
    ['<', 'maybe'],
    ['<tool_ca', 'maybe'],
    ['<tool_call', 'maybe'],
    ['<tool_call ', 'yes'],
    ['<tool_call>', 'yes'],
    ['<tool_calls', 'maybe'],
    ['<tool_calls>', 'yes'],
    ['<tool_callx', 'no'],
    ['<tool_callsx', 'no'],
    ['<b>', 'no'],
    ['< 3', 'no'],
    ['`', 'maybe'],
    ['``', 'maybe'],
    ['```', 'maybe'],
    ['```json', 'maybe'],
    ['```json\n', 'maybe'],
    ['```json\n  <tool', 'maybe'],
    ['```xml\n<tool_calls>', 'yes'],
    ['```python\nprint(1)', 'no'],
    ['`code`', 'no'],
    ['``a', 'no'],
  ])('%j → %s', (s, expected) => {
    expect(opensToolCall(s)).toBe(expected);
  });
});

describe('tool call filter: answers', () => {
  const W = '<tool_call name="get_weather">{"city":"Paris"}</tool_call>';
  it.each<[string, string[], FinishReason, GatewayEvent[], number]>([
    // name, pieces, finish, expected (merged), malformed count
    ['plain text', ['Hello ', 'world'], 'stop', [text('Hello world'), end('stop')], 0],
    ['text with < and backticks', ['a < b and `x` and <b>bold</b>'], 'stop', [text('a < b and `x` and <b>bold</b>'), end('stop')], 0],
    ['a code fence', ['```python\nprint(1)\n```\n'], 'stop', [text('```python\nprint(1)\n```\n'), end('stop')], 0],
    ['a lone "<" at the end', ['x <'], 'length', [text('x <'), end('length')], 0],
    ['one call', [W], 'stop', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    [
      'one call, split inside the tag',
      ['<to', 'ol_ca', 'll na', 'me="get_weather">{"ci', 'ty":"Paris"}</tool', '_call>'],
      'stop',
      [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')],
      0,
    ],
    ['text before the call streams as text', ['Let me check.\n', W], 'stop', [text('Let me check.\n'), calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    ['two calls', [`${W}\n<tool_call name="now"></tool_call>`], 'stop', [calls(['get_weather', '{"city":"Paris"}'], ['now', '{}']), end('tool_calls')], 0],
    ['text after the call is dropped', [`${W}\nDone!`], 'stop', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    [
      'repair: list form in a fence, arguments as a string',
      ['```xml\n<tool_calls>[{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}]</tool_calls>\n```'],
      'stop',
      [calls(['get_weather', '{"city":"Oslo"}']), end('tool_calls')],
      0,
    ],
    ['repair: a single object in the list form', ['<tool_calls>{"name":"now"}</tool_calls>'], 'stop', [calls(['now', '{}']), end('tool_calls')], 0],
    [
      'repair: OpenAI-shaped call object',
      ['<tool_calls>[{"type":"function","function":{"name":"now","arguments":"{}"}}]</tool_calls>'],
      'stop',
      [calls(['now', '{}']), end('tool_calls')],
      0,
    ],
    [
      'repair: call object without a name attribute',
      ['<tool_call>{"name":"get_weather","arguments":{"city":"Rome"}}</tool_call>'],
      'stop',
      [calls(['get_weather', '{"city":"Rome"}']), end('tool_calls')],
      0,
    ],
    ['repair: missing closing tag at the end', ['<tool_call name="get_weather">{"city":"Paris"}'], 'length', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    [
      'repair: arguments in a json fence',
      ['<tool_call name="get_weather">\n```json\n{"city":"Paris"}\n```\n</tool_call>'],
      'stop',
      [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')],
      0,
    ],
    [
      'malformed JSON → the answer as text',
      ['<tool_call name="get_weather">{"city": "Par</tool_call>'],
      'stop',
      [text('<tool_call name="get_weather">{"city": "Par</tool_call>'), end('stop')],
      1,
    ],
    ['unknown tool → text', ['<tool_call name="launch">{}</tool_call>'], 'stop', [text('<tool_call name="launch">{}</tool_call>'), end('stop')], 1],
    [
      'schema: wrong type → text',
      ['<tool_call name="get_weather">{"city":42}</tool_call>'],
      'stop',
      [text('<tool_call name="get_weather">{"city":42}</tool_call>'), end('stop')],
      1,
    ],
    [
      'schema: missing required → text',
      ['pre ', '<tool_call name="get_weather">{}</tool_call>'],
      'stop',
      [text('pre <tool_call name="get_weather">{}</tool_call>'), end('stop')],
      1,
    ],
    [
      'schema: extra property not allowed → text',
      ['<tool_call name="get_weather">{"city":"a","x":1}</tool_call>'],
      'stop',
      [text('<tool_call name="get_weather">{"city":"a","x":1}</tool_call>'), end('stop')],
      1,
    ],
    ['arguments not an object → text', ['<tool_call name="now">[1]</tool_call>'], 'stop', [text('<tool_call name="now">[1]</tool_call>'), end('stop')], 1],
  ])('%s', (_name, pieces, finish, expected, malformedCount) => {
    const { events, malformed } = run(pieces, finish);
    expect(merged(events)).toStrictEqual(expected);
    expect(malformed).toHaveLength(malformedCount);
  });

  it('reasoning and usage pass at once while a call is held', () => {
    const filter = new ToolCallFilter({ tools, newId: () => 'call_x' });
    expect(filter.push({ type: 'text', text: '<tool_call name="now">' })).toEqual([]);
    expect(filter.push({ type: 'reasoning', text: 'hm' })).toEqual([{ type: 'reasoning', text: 'hm' }]);
    const usage = { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3, estimated: false } } as const;
    expect(filter.push(usage)).toEqual([usage]);
    expect(filter.push({ type: 'text', text: '{}</tool_call>' })).toEqual([]);
    expect(filter.push({ type: 'end', finishReason: 'stop' })).toEqual([
      { type: 'tool_calls', calls: [{ id: 'call_x', name: 'now', arguments: '{}' }] },
      { type: 'end', finishReason: 'tool_calls' },
    ]);
  });

  it('text streams as it comes when it cannot open a call', () => {
    const filter = new ToolCallFilter({ tools });
    expect(filter.push({ type: 'text', text: 'abc' })).toEqual([{ type: 'text', text: 'abc' }]);
    expect(filter.push({ type: 'text', text: 'd <t' })).toEqual([{ type: 'text', text: 'd ' }]);
    expect(filter.push({ type: 'text', text: 'able>' })).toEqual([{ type: 'text', text: '<table>' }]);
  });

  it('default ids carry the prefix', () => {
    const filter = new ToolCallFilter({ tools, idPrefix: 'toolu_' });
    filter.push({ type: 'text', text: '<tool_call name="now">{}</tool_call>' });
    const [first] = filter.push({ type: 'end', finishReason: 'stop' });
    expect(first?.type === 'tool_calls' && first.calls[0]?.id).toMatch(/^toolu_[0-9a-f]{24}$/);
  });
});

describe('tool call filter: invariants over any chunking', () => {
  const samples = [
    'Hello <b>world</b> with `code` and ``` fences\n```js\nx<y\n```\n<tool',
    '<tool_call name="get_weather">{"city":"Paris"}</tool_call>',
    'Thinking... <tool_call name="now">{}</tool_call>\n',
    '<tool_call name="get_weather">{"city": oops}</tool_call>',
  ];
  const chunked = fc.constantFrom(...samples).chain((s) =>
    fc.array(fc.integer({ min: 0, max: s.length }), { maxLength: 8 }).map((cuts) => {
      const points = [...new Set([0, ...cuts, s.length])].sort((a, b) => a - b);
      return { s, pieces: points.slice(1).map((p, i) => s.slice(points[i], p)) };
    }),
  );

  it('the same events whatever the chunking; text is never lost', () => {
    fc.assert(
      fc.property(chunked, ({ s, pieces }) => {
        const whole = merged(run([s]).events);
        expect(merged(run(pieces).events)).toStrictEqual(whole);
        const out = whole
          .filter((e) => e.type === 'text')
          .map((e) => (e.type === 'text' ? e.text : ''))
          .join('');
        if (!whole.some((e) => e.type === 'tool_calls')) expect(out).toBe(s);
      }),
    );
  });
});

describe('parseToolAnswer', () => {
  it('names the problem', () => {
    expect(parseToolAnswer('<tool_call name="get_weather">{}</tool_call>', tools)).toEqual({
      ok: false,
      reason: 'the arguments of "get_weather" do not match its schema: $: missing required property "city"',
    });
    expect(parseToolAnswer('<tool_call name="x"', tools)).toEqual({ ok: false, reason: 'a tool call tag is not closed with ">"' });
  });
});
