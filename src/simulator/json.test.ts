import { describe, expect, it } from 'vitest';
import { structuredOutputStage, toolCallStage } from '../core/answer.js';
import { withStageSections } from '../core/test-helpers.js';
import type { GatewayRequest } from '../core/types.js';
import { defaultAnswerText, splitDeltas } from './answer.js';
import { JSON_FENCE_AFTER, JSON_FENCE_BEFORE, JSON_SKIP_ANSWER, simJsonAnswer } from './json.js';
import { TOOL_RESULT_PREFIX } from './tools.js';

const schema = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 }, tags: { type: 'array', items: { type: 'string' } }, unit: { enum: ['c', 'f'] } },
  required: ['name', 'age'],
};
const PERSON = '{\n  "name": "name-value",\n  "age": 0,\n  "tags": [\n    "tags-value"\n  ],\n  "unit": "c"\n}';

/** the query the gateway sends for `text` with a json_schema (or json_object) format, as src/ondemand/query.ts builds it */
function query(text: string, req: Partial<GatewayRequest> = { responseFormat: { type: 'json_schema', name: 'person', schema } }): string {
  return withStageSections(text, req, [toolCallStage, structuredOutputStage]);
}

describe('simulated JSON answers', () => {
  it.each<[string, string, Partial<GatewayRequest> | undefined, string | undefined]>([
    ['a schema: a sample of it, indented', 'who?', undefined, PERSON],
    ['json_object: a fixed object', 'who?', { responseFormat: { type: 'json_object' } }, '{\n  "answer": "answer-value"\n}'],
    ['json_schema without a schema: the same object', 'who?', { responseFormat: { type: 'json_schema', name: 'x' } }, '{\n  "answer": "answer-value"\n}'],
    ['SIM_JSON_FENCED: a fence and a sentence around it', 'who? SIM_JSON_FENCED', undefined, JSON_FENCE_BEFORE + PERSON + JSON_FENCE_AFTER],
    [
      'SIM_JSON_MISMATCH: wrong types for the required properties',
      'SIM_JSON_MISMATCH',
      undefined,
      '{\n  "name": 42,\n  "age": "not-a-number",\n  "tags": [\n    "tags-value"\n  ],\n  "unit": "c"\n}',
    ],
    ['SIM_JSON_SKIP: plain text', 'SIM_JSON_SKIP', undefined, JSON_SKIP_ANSWER],
    ['no format section: no JSON answer', 'who?', {}, undefined],
  ])('%s', (_name, text, req, expected) => {
    expect(simJsonAnswer(query(text, req))).toBe(expected);
  });

  it('streams in several deltas cut inside the JSON', () => {
    const deltas = splitDeltas(PERSON);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(PERSON);
    expect(deltas.slice(0, 3)).toEqual(['{', '\n  "name":', ' "name-value",']);
  });

  it('with tools: the call first, the JSON after the tool result', () => {
    const req: Partial<GatewayRequest> = { tools: [{ name: 'lookup' }], responseFormat: { type: 'json_schema', name: 'person', schema } };
    const ask = { query: query('who?', req), endpointId: 'predefined-openai-gpt4o', sessionId: 's', history: [] };
    expect(defaultAnswerText(ask)).toBe('<tool_call name="lookup">{}</tool_call>');
    const afterResult = query('<user>\nwho?\n</user>\n\n<tool_result id="c" name="lookup">\nAnn\n</tool_result>', req);
    expect(defaultAnswerText({ ...ask, query: afterResult })).toBe(PERSON);
    expect(defaultAnswerText({ ...ask, query: withStageSections('<user>\nx\n</user>\n\n<tool_result>\nAnn\n</tool_result>', req, [toolCallStage]) })).toBe(
      `${TOOL_RESULT_PREFIX}Ann`,
    );
  });
});
