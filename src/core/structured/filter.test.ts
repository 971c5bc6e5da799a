import { describe, expect, it } from 'vitest';
import type { FinishReason, GatewayEvent, ResponseFormat } from '../types.js';
import { checkJsonAnswer, opensJsonValue, openersOf, StructuredAnswerFilter } from './filter.js';

const person: ResponseFormat = {
  type: 'json_schema',
  name: 'person',
  schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name'], additionalProperties: false },
};
const list: ResponseFormat = { type: 'json_schema', name: 'list', schema: { type: 'array' } };
const anyValue: ResponseFormat = { type: 'json_schema', name: 'any' };
const object: ResponseFormat = { type: 'json_object' };

/** Runs text pieces through a filter for `format`, ending with `finish`. */
function run(format: ResponseFormat, pieces: readonly string[], finish: FinishReason = 'stop'): { events: GatewayEvent[]; invalid: string[] } {
  const invalid: string[] = [];
  const filter = new StructuredAnswerFilter({ format, onInvalid: (r) => invalid.push(r) });
  const events: GatewayEvent[] = [];
  for (const text of pieces) events.push(...filter.push({ type: 'text', text }));
  events.push(...filter.push({ type: 'end', finishReason: finish }));
  return { events, invalid };
}

const textOf = (events: GatewayEvent[]): string => events.map((e) => (e.type === 'text' ? e.text : '')).join('');

/** every way to cut `s` in two and in three pieces, and one character at a time */
function splits(s: string): string[][] {
  const out: string[][] = [[s], Array.from(s)];
  for (let i = 0; i <= s.length; i++) {
    out.push([s.slice(0, i), s.slice(i)]);
    for (let j = i; j <= s.length; j += 3) out.push([s.slice(0, i), s.slice(i, j), s.slice(j)]);
  }
  return out;
}

describe('opensJsonValue', () => {
  it.each<[string, 'yes' | 'no' | 'maybe']>([
    ['{', 'maybe'],
    ['{ \n', 'maybe'],
    ['{"', 'yes'],
    ['{ \n "a"', 'yes'],
    ['{}', 'yes'],
    ['{think}', 'no'],
    ['{ 1', 'no'],
    ['[', 'maybe'],
    ['[1', 'yes'],
    ['[-', 'yes'],
    ['[{', 'yes'],
    ['["', 'yes'],
    ['[]', 'yes'],
    ['[t', 'maybe'],
    ['[true', 'maybe'],
    ['[true,', 'yes'],
    ['[ null]', 'yes'],
    ['[nullx', 'no'],
    ['[see below]', 'no'],
    ['[fals', 'maybe'],
  ])('%j → %s', (s, expected) => {
    expect(opensJsonValue(s, 0)).toBe(expected);
  });

  it('looks at the schema for which brackets may open the value', () => {
    expect([openersOf(object), openersOf(person), openersOf(list), openersOf(anyValue), openersOf({ type: 'json_schema', name: 'x', schema: { anyOf: [] } })]).toEqual([
      '{',
      '{',
      '[',
      '{',
      '{[',
    ]);
  });
});

describe('structured answer filter: every split position gives the same clean answer', () => {
  const NESTED = '{"name":"a } b { \\" ] [","age":1,"x":{"y":["}",{"z":"\\\\"}]}}';
  it.each<[string, ResponseFormat, string, FinishReason, string, number]>([
    // name, format, model's answer, finish, what the client gets, invalid reports
    ['bare JSON', person, '{"name":"Ann","age":3}', 'stop', '{"name":"Ann","age":3}', 0],
    ['indented JSON', person, '{\n  "name": "Ann"\n}', 'stop', '{\n  "name": "Ann"\n}', 0],
    ['a ```json fence', person, '```json\n{"name":"Ann"}\n```', 'stop', '{"name":"Ann"}', 0],
    ['prose and a fence around it', person, 'Here is the JSON you asked for:\n```json\n{"name":"Ann"}\n```\nLet me know if you need anything else.', 'stop', '{"name":"Ann"}', 0],
    ['prose before and after, no fence', person, 'Sure! {"name":"Ann"} Hope this helps.', 'stop', '{"name":"Ann"}', 0],
    ['a {curly aside} before the value', person, 'I {think} so: {"name":"Ann"}', 'stop', '{"name":"Ann"}', 0],
    ['strings with brackets and escaped quotes', anyValue, `\`\`\`\n${NESTED}\n\`\`\`\n`, 'stop', NESTED, 0],
    ['an array at the root', list, 'Here: [1, {"a":[2]}, "]"] done', 'stop', '[1, {"a":[2]}, "]"]', 0],
    ['an array after a [bracketed aside]', list, '[see below] [true, null]', 'stop', '[true, null]', 0],
    ['json_object ignores arrays', object, 'Not [1,2] but {"a":[1,2]}.', 'stop', '{"a":[1,2]}', 0],
    ['an empty object', object, '{}', 'stop', '{}', 0],
    ['invalid JSON: passed on cleaned, reported', person, '```json\n{"name": oops}\n```', 'stop', '{"name": oops}', 1],
    ['schema mismatch: passed on, reported', person, '{"name":42,"extra":true}', 'stop', '{"name":42,"extra":true}', 1],
    ['json_object answered with an array: unchanged, reported', object, '[1,2]', 'stop', '[1,2]', 1],
    ['cut by max_tokens: what came, reported', person, 'x {"name": ["An', 'length', '{"name": ["An', 1],
    ['no JSON at all: unchanged', person, 'I cannot answer that in JSON.', 'stop', 'I cannot answer that in JSON.', 1],
    ['a lone "{" at the end: unchanged', person, 'Sorry {', 'stop', 'Sorry {', 1],
    ['only a fence: unchanged', person, '```json\n```', 'stop', '```json\n```', 1],
    ['an empty answer', person, '', 'stop', '', 1],
  ])('%s', (_name, format, answer, finish, expected, invalidCount) => {
    for (const pieces of splits(answer)) {
      const { events, invalid } = run(format, pieces, finish);
      expect(textOf(events), JSON.stringify(pieces)).toBe(expected);
      expect(events.at(-1)).toEqual({ type: 'end', finishReason: finish });
      expect(invalid).toHaveLength(invalidCount);
    }
  });

  it('the value passes through as it arrives; only the undecided opening is held', () => {
    const answer = 'Sure:\n```json\n{ "name": "A}" }\n```';
    const start = answer.indexOf('{');
    const decided = answer.indexOf('"'); // the first token after "{" decides
    const closed = answer.indexOf('}\n') + 1;
    const filter = new StructuredAnswerFilter({ format: person });
    Array.from(answer).forEach((ch, i) => {
      const out = textOf(filter.push({ type: 'text', text: ch }));
      if (i < decided) expect(out).toBe('');
      else if (i === decided) expect(out).toBe(answer.slice(start, decided + 1));
      else if (i < closed) expect(out).toBe(ch);
      else expect(out).toBe('');
    });
    expect(filter.push({ type: 'end', finishReason: 'stop' })).toEqual([{ type: 'end', finishReason: 'stop' }]);
  });
});

describe('structured answer filter: other events', () => {
  const usage = { type: 'usage', usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3, estimated: false } } as const;

  it('reasoning and usage pass at once, also while text is held', () => {
    const filter = new StructuredAnswerFilter({ format: person });
    expect(filter.push({ type: 'text', text: 'Here: {' })).toEqual([]);
    expect(filter.push({ type: 'reasoning', text: '{not json' })).toEqual([{ type: 'reasoning', text: '{not json' }]);
    expect(filter.push(usage)).toEqual([usage]);
    expect(filter.push({ type: 'text', text: '"name":"A"} bye' })).toEqual([{ type: 'text', text: '{"name":"A"}' }]);
  });

  it('tool calls win: held text goes out before them as it was, then nothing is touched or checked', () => {
    const invalid: string[] = [];
    const filter = new StructuredAnswerFilter({ format: person, onInvalid: (r) => invalid.push(r) });
    const calls: GatewayEvent = { type: 'tool_calls', calls: [{ id: 'call_1', name: 'f', arguments: '{}' }] };
    expect(filter.push({ type: 'text', text: 'Let me look that up.\n' })).toEqual([]);
    expect(filter.push(calls)).toEqual([{ type: 'text', text: 'Let me look that up.\n' }, calls]);
    expect(filter.push({ type: 'end', finishReason: 'tool_calls' })).toEqual([{ type: 'end', finishReason: 'tool_calls' }]);
    expect(invalid).toEqual([]);
  });
});

describe('checkJsonAnswer', () => {
  it.each<[string, ResponseFormat, string, string | undefined]>([
    ['valid', person, '{"name":"A"}', undefined],
    ['not JSON', object, '{"a":}', 'the answer is not valid JSON'],
    ['not an object', object, '"x"', 'the answer is not a JSON object'],
    ['json_schema without a schema wants an object', anyValue, '[1]', 'the answer is not a JSON object'],
    ['names the schema and the problem', person, '{"age":1}', 'the answer does not match the schema "person": $: missing required property "name"'],
  ])('%s', (_name, format, text, reason) => {
    const got = checkJsonAnswer(text, format);
    if (reason === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(reason);
  });
});
