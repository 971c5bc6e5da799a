import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FinishReason, GatewayEvent, ToolCall, ToolSpec } from '../types.js';
import { jsonValueEnd, opensToolCall, parseToolAnswer, ToolCallFilter } from './parser.js';

const PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?';

const tools: ToolSpec[] = [
  {
    name: 'get_weather',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city'], additionalProperties: false },
  },
  { name: 'now' },
  { name: 'exec_command', parameters: { type: 'object', properties: { cmd: { type: 'string' }, workdir: { type: 'string' } }, required: ['cmd'] } },
  { name: 'apply_patch', freeform: { type: 'grammar', syntax: 'lark', definition: PATCH_GRAMMAR } },
  { name: 'functions.exec', freeform: { type: 'text' }, namespace: { name: 'functions' } },
];

/** Runs text pieces through the filter, ending with `finish`; ids are call_1, call_2, ... */
function run(pieces: string[], finish: FinishReason = 'stop', opts: { maxCalls?: number } = {}): { events: GatewayEvent[]; malformed: string[] } {
  let n = 0;
  const malformed: string[] = [];
  const filter = new ToolCallFilter({ tools, newId: () => `call_${++n}`, onMalformed: (r) => malformed.push(r), ...opts });
  const events: GatewayEvent[] = [];
  for (const text of pieces) events.push(...filter.push({ type: 'text', text }));
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

/** every way a stream may deliver `s`: whole, cut once at each point, and one character at a time */
function chunkings(s: string): string[][] {
  const out: string[][] = [[s], Array.from(s)];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

const text = (t: string): GatewayEvent => ({ type: 'text', text: t });
const end = (finishReason: FinishReason): GatewayEvent => ({ type: 'end', finishReason });
type Expected = [string, string] | [string, string, 'freeform'];
const calls = (...list: Expected[]): GatewayEvent => ({
  type: 'tool_calls',
  calls: list.map(
    ([name, args, kind], i): ToolCall => (kind === 'freeform' ? { id: `call_${i + 1}`, name, arguments: args, freeform: true } : { id: `call_${i + 1}`, name, arguments: args }),
  ),
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
    ['`<tool_call>`', 'no'],
    ['``a', 'no'],
  ])('%j → %s', (s, expected) => {
    expect(opensToolCall(s)).toBe(expected);
  });
});

describe('jsonValueEnd', () => {
  it.each([
    ['{"a":1} tail', 7],
    ['{"a":"}"}', 9],
    ['{"a":"</tool_call>","b":[1,{"c":"]"}]}</tool_call>', 38],
    ['{"a":"\\"}"}x', 11],
    ['[1,[2]]x', 7],
    ['"s\\"t"x', 6],
    ['42</tool_call>', 2],
    ['{"a":"unterminated</tool_call>', -1],
    ['{"a":{"b":1}', -1],
  ])('%j → %d', (s, expected) => {
    expect(jsonValueEnd(s, 0)).toBe(expected);
  });
});

const W = '<tool_call name="get_weather">{"city":"Paris"}</tool_call>';
const HEREDOC_CMD = `cat <<'EOF' > notes.md\nA "quoted" <tool_call name="now">{}</tool_call> line\\ with a backslash\nEOF`;
const PATCH = [
  '*** Begin Patch',
  '*** Update File: src/core/tools/parser.ts',
  '@@',
  "-const CLOSE = '</tool_call>';",
  '+const CLOSE = "</tool_call>"; // {"quoted": [1, 2]} and a `fence`',
  '+<tool_call name="now">{}</tool_call>',
  '*** End Patch',
].join('\n');

describe('tool call filter: answers, whatever the chunking', () => {
  // name, answer, finish, expected events (adjacent text merged), malformed count
  const cases: Array<[string, string, FinishReason, GatewayEvent[], number]> = [
    // text that is no call, and is never held to the end
    ['plain text', 'Hello world', 'stop', [text('Hello world'), end('stop')], 0],
    ['text with < and backticks', 'a < b and `x` and <b>bold</b>', 'stop', [text('a < b and `x` and <b>bold</b>'), end('stop')], 0],
    ['a code fence', '```python\nprint(1)\n```\n', 'stop', [text('```python\nprint(1)\n```\n'), end('stop')], 0],
    ['a lone "<" at the end', 'x <', 'length', [text('x <'), end('length')], 0],
    ['a "<" opening the last line', 'x\n<', 'length', [text('x\n<'), end('length')], 0],
    [
      'the notation in inline code',
      'The parser reads `<tool_call name="now">{}</tool_call>` tags.',
      'stop',
      [text('The parser reads `<tool_call name="now">{}</tool_call>` tags.'), end('stop')],
      0,
    ],
    [
      'the notation in mid-line',
      'I would write <tool_call name="now">{}</tool_call> here',
      'stop',
      [text('I would write <tool_call name="now">{}</tool_call> here'), end('stop')],
      0,
    ],
    [
      'a quoted call followed by prose is text',
      'Example:\n<tool_call name="now">{}</tool_call>\nThat is how a call looks.',
      'stop',
      [text('Example:\n<tool_call name="now">{}</tool_call>\nThat is how a call looks.'), end('stop')],
      1,
    ],
    [
      'a quoted call in a fence followed by prose is text',
      'The test holds:\n```xml\n<tool_call name="exec_command">{"cmd":"rm -rf /"}</tool_call>\n```\nso the parser must not run it.',
      'stop',
      [text('The test holds:\n```xml\n<tool_call name="exec_command">{"cmd":"rm -rf /"}</tool_call>\n```\nso the parser must not run it.'), end('stop')],
      1,
    ],
    [
      "the tool section's own example line",
      'The format is:\n<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>',
      'stop',
      [text('The format is:\n<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>'), end('stop')],
      1,
    ],
    // calls
    ['one call', W, 'stop', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    ['a call after text', `Let me check.\n${W}`, 'stop', [text('Let me check.\n'), calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    [
      'a call after text, a blank line and indentation',
      'I will check.\n\n  <tool_call name="now"></tool_call>\n',
      'stop',
      [text('I will check.\n\n'), calls(['now', '{}']), end('tool_calls')],
      0,
    ],
    [
      'parallel calls, one per line',
      `${W}\n<tool_call name="now"></tool_call>\n<tool_call name="exec_command">{"cmd":"ls"}</tool_call>`,
      'stop',
      [calls(['get_weather', '{"city":"Paris"}'], ['now', '{}'], ['exec_command', '{"cmd":"ls"}']), end('tool_calls')],
      0,
    ],
    ['parallel calls on one line', `${W}<tool_call name="now">{}</tool_call>`, 'stop', [calls(['get_weather', '{"city":"Paris"}'], ['now', '{}']), end('tool_calls')], 0],
    [
      'parallel calls in a fence, a blank line between',
      `\`\`\`xml\n${W}\n\n<tool_call name="now">{}</tool_call>\n\`\`\`\n`,
      'stop',
      [calls(['get_weather', '{"city":"Paris"}'], ['now', '{}']), end('tool_calls')],
      0,
    ],
    [
      'arguments with a heredoc, quotes, a backslash and our own tags',
      `<tool_call name="exec_command">${JSON.stringify({ cmd: HEREDOC_CMD })}</tool_call>`,
      'stop',
      [calls(['exec_command', JSON.stringify({ cmd: HEREDOC_CMD })]), end('tool_calls')],
      0,
    ],
    [
      'brackets inside strings',
      '<tool_call name="exec_command">{"cmd":"echo \'}]{[\'"}</tool_call>',
      'stop',
      [calls(['exec_command', '{"cmd":"echo \'}]{[\'"}']), end('tool_calls')],
      0,
    ],
    [
      'a freeform patch on lines of its own, with our tags, quotes and braces inside',
      `Patching.\n<tool_call name="apply_patch">\n${PATCH}\n</tool_call>`,
      'stop',
      [text('Patching.\n'), calls(['apply_patch', PATCH, 'freeform']), end('tool_calls')],
      0,
    ],
    ['a one-line freeform input', '<tool_call name="functions.exec">text("hi")</tool_call>', 'stop', [calls(['functions.exec', 'text("hi")', 'freeform']), end('tool_calls')], 0],
    [
      'freeform and function calls in parallel',
      `<tool_call name="apply_patch">\n${PATCH}\n</tool_call>\n<tool_call name="exec_command">{"cmd":"npm test"}</tool_call>`,
      'stop',
      [calls(['apply_patch', PATCH, 'freeform'], ['exec_command', '{"cmd":"npm test"}']), end('tool_calls')],
      0,
    ],
    [
      'repair: a fence around a freeform input',
      '<tool_call name="functions.exec">\n```js\nconst a = {b: 1};\ntext(a)\n```\n</tool_call>',
      'stop',
      [calls(['functions.exec', 'const a = {b: 1};\ntext(a)', 'freeform']), end('tool_calls')],
      0,
    ],
    [
      'repair: a freeform call cut before its closing line',
      `<tool_call name="apply_patch">\n${PATCH}\n`,
      'length',
      [calls(['apply_patch', PATCH, 'freeform']), end('tool_calls')],
      0,
    ],
    ['repair: the turn closed after the calls', `${W}\n</assistant>\n`, 'stop', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    // repairs of function calls
    [
      'repair: list form in a fence, arguments as a string',
      '```xml\n<tool_calls>[{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}]</tool_calls>\n```',
      'stop',
      [calls(['get_weather', '{"city":"Oslo"}']), end('tool_calls')],
      0,
    ],
    ['repair: a single object in the list form', '<tool_calls>{"name":"now"}</tool_calls>', 'stop', [calls(['now', '{}']), end('tool_calls')], 0],
    [
      'repair: a freeform input in the list form',
      '<tool_calls>[{"name":"functions.exec","input":"text(1)"}]</tool_calls>',
      'stop',
      [calls(['functions.exec', 'text(1)', 'freeform']), end('tool_calls')],
      0,
    ],
    [
      'repair: OpenAI-shaped call object',
      '<tool_calls>[{"type":"function","function":{"name":"now","arguments":"{}"}}]</tool_calls>',
      'stop',
      [calls(['now', '{}']), end('tool_calls')],
      0,
    ],
    [
      'repair: call object without a name attribute',
      '<tool_call>{"name":"get_weather","arguments":{"city":"Rome"}}</tool_call>',
      'stop',
      [calls(['get_weather', '{"city":"Rome"}']), end('tool_calls')],
      0,
    ],
    ['repair: missing closing tag at the end', '<tool_call name="get_weather">{"city":"Paris"}', 'length', [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')], 0],
    [
      'repair: missing closing tag before the next call',
      '<tool_call name="get_weather">{"city":"Paris"}\n<tool_call name="now">{}</tool_call>',
      'stop',
      [calls(['get_weather', '{"city":"Paris"}'], ['now', '{}']), end('tool_calls')],
      0,
    ],
    [
      'repair: arguments in a json fence',
      '<tool_call name="get_weather">\n```json\n{"city":"Paris"}\n```\n</tool_call>',
      'stop',
      [calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')],
      0,
    ],
    // not valid calls: the answer as text
    [
      'malformed JSON → the answer as text',
      '<tool_call name="get_weather">{"city": "Par</tool_call>',
      'stop',
      [text('<tool_call name="get_weather">{"city": "Par</tool_call>'), end('stop')],
      1,
    ],
    ['unknown tool → text', '<tool_call name="launch">{}</tool_call>', 'stop', [text('<tool_call name="launch">{}</tool_call>'), end('stop')], 1],
    ['schema: wrong type → text', '<tool_call name="get_weather">{"city":42}</tool_call>', 'stop', [text('<tool_call name="get_weather">{"city":42}</tool_call>'), end('stop')], 1],
    ['schema: missing required → text', 'pre\n<tool_call name="get_weather">{}</tool_call>', 'stop', [text('pre\n<tool_call name="get_weather">{}</tool_call>'), end('stop')], 1],
    [
      'schema: extra property not allowed → text',
      '<tool_call name="get_weather">{"city":"a","x":1}</tool_call>',
      'stop',
      [text('<tool_call name="get_weather">{"city":"a","x":1}</tool_call>'), end('stop')],
      1,
    ],
    ['arguments not an object → text', '<tool_call name="now">[1]</tool_call>', 'stop', [text('<tool_call name="now">[1]</tool_call>'), end('stop')], 1],
    [
      'JSON arguments for a freeform tool → text',
      '<tool_calls>[{"name":"apply_patch","arguments":{"patch":"x"}}]</tool_calls>',
      'stop',
      [text('<tool_calls>[{"name":"apply_patch","arguments":{"patch":"x"}}]</tool_calls>'), end('stop')],
      1,
    ],
    [
      'a second call followed by prose → text',
      `${W}\n<tool_call name="now">{}</tool_call>\nDone, thanks!`,
      'stop',
      [text(`${W}\n<tool_call name="now">{}</tool_call>\nDone, thanks!`), end('stop')],
      1,
    ],
  ];

  it.each(cases)('%s', (_name, answer, finish, expected, malformedCount) => {
    for (const pieces of chunkings(answer)) {
      const { events, malformed } = run(pieces, finish);
      expect(merged(events), JSON.stringify(pieces)).toStrictEqual(expected);
      expect(malformed).toHaveLength(malformedCount);
    }
  });

  it('parallel_tool_calls false: the first call only', () => {
    const { events } = run([`${W}\n<tool_call name="now">{}</tool_call>`], 'stop', { maxCalls: 1 });
    expect(events).toStrictEqual([calls(['get_weather', '{"city":"Paris"}']), end('tool_calls')]);
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

  it('text streams as it comes; only a line that may open a call waits', () => {
    const filter = new ToolCallFilter({ tools });
    expect(filter.push({ type: 'text', text: 'abc' })).toEqual([{ type: 'text', text: 'abc' }]);
    expect(filter.push({ type: 'text', text: ' d <t' })).toEqual([{ type: 'text', text: ' d <t' }]);
    expect(filter.push({ type: 'text', text: 'able>\n' })).toEqual([{ type: 'text', text: 'able>\n' }]);
    expect(filter.push({ type: 'text', text: '  <t' })).toEqual([]);
    expect(filter.push({ type: 'text', text: 'able>' })).toEqual([{ type: 'text', text: '  <table>' }]);
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
    'Thinking...\n<tool_call name="now">{}</tool_call>\n',
    'Thinking... <tool_call name="now">{}</tool_call>\n',
    '<tool_call name="get_weather">{"city": oops}</tool_call>',
    `Fixing it.\n<tool_call name="apply_patch">\n${PATCH}\n</tool_call>\n<tool_call name="exec_command">${JSON.stringify({ cmd: HEREDOC_CMD })}</tool_call>`,
    'Quoting:\n<tool_call name="now">{}</tool_call>\nand more',
  ];
  const chunked = fc.constantFrom(...samples).chain((s) =>
    fc.array(fc.integer({ min: 0, max: s.length }), { maxLength: 12 }).map((cuts) => {
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

describe('tool sets the size of real agents', () => {
  // dozens of tools with large schemas, as Claude Code and Codex send them
  const big: ToolSpec[] = Array.from({ length: 60 }, (_, i) => ({
    name: i % 10 === 9 ? `mcp__server${i}.tool_${i}` : `tool_${i}`,
    description: `Tool number ${i}. `.repeat(40),
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 12 }, (_, k) => [
          `field_${k}`,
          k % 3 === 0
            ? { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, line: { type: 'integer', minimum: 1 } }, required: ['path'] } }
            : k % 3 === 1
              ? { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'x'.repeat(200) }
              : { type: 'string', enum: ['a', 'b', 'c'] },
        ]),
      ),
      required: ['field_0', 'field_2'],
      additionalProperties: false,
    },
  }));
  const args = { field_0: [{ path: 'src/a.ts', line: 3 }], field_1: null, field_2: 'b' };

  it.each([
    ['the last tool', 'tool_58'],
    ['a namespaced tool', 'mcp__server59.tool_59'],
  ])('%s is found and its arguments checked', (_name, name) => {
    const answer = `<tool_call name="${name}">${JSON.stringify(args)}</tool_call>`;
    expect(parseToolAnswer(answer, big)).toEqual({ ok: true, calls: [{ name, arguments: args }] });
    expect(parseToolAnswer(answer.replace('"b"', '"z"'), big)).toMatchObject({ ok: false, reason: expect.stringContaining('$.field_2: must be one of') });
    expect(parseToolAnswer(answer.replace('"line":3', '"line":0'), big)).toMatchObject({ ok: false, reason: expect.stringContaining('$.field_0[0].line: must be >= 1') });
  });
});

describe('parseToolAnswer', () => {
  it('names the problem', () => {
    expect(parseToolAnswer('<tool_call name="get_weather">{}</tool_call>', tools)).toEqual({
      ok: false,
      reason: 'the arguments of "get_weather" do not match its schema: $: missing required property "city"',
    });
    expect(parseToolAnswer('<tool_call name="x"', tools)).toEqual({ ok: false, reason: 'a tool call tag is not closed with ">"' });
    expect(parseToolAnswer('<tool_call name="now">{}</tool_call>\nok?', tools)).toEqual({ ok: false, reason: 'text follows the tool calls' });
    expect(parseToolAnswer('<tool_call name="now">{} trailing</tool_call>', tools)).toEqual({
      ok: false,
      reason: 'the arguments of "now" is followed by text other than </tool_call>',
    });
  });
});
