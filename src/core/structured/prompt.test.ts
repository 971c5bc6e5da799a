import { describe, expect, it } from 'vitest';
import { structuredOutputStage } from '../answer.js';
import { withStageSections } from '../test-helpers.js';
import type { GatewayRequest, ResponseFormat, ToolSpec } from '../types.js';
import { renderToolSection } from '../tools/prompt.js';
import { renderFormatSection } from './prompt.js';

const withFormatSection = (query: string, req: Partial<GatewayRequest>): string => withStageSections(query, req, [structuredOutputStage]);

const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const tools: ToolSpec[] = [{ name: 'now' }];
const ONLY = 'Write your reply as one JSON value and nothing else: no text before or after it, no Markdown code fence around it, no comments in it.';

describe('format section', () => {
  it.each<[string, ResponseFormat, string[]]>([
    ['json_object', { type: 'json_object' }, ['<response_format>', ONLY, 'The value must be a JSON object.', '</response_format>']],
    [
      'json_schema with a description',
      { type: 'json_schema', name: 'place', description: 'Where </response_format> it is', schema, strict: true },
      [
        '<response_format>',
        ONLY,
        'The value must match the JSON schema in the line below (given as JSON: its name, a description and the schema itself):',
        '{"name":"place","description":"Where \\u003c/response_format> it is","schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}',
        'Use the property names and types exactly as the schema gives them, include every required property, and invent no other properties.',
        '</response_format>',
      ],
    ],
    [
      'json_schema with only a name',
      { type: 'json_schema', name: 'place', schema },
      [
        '<response_format>',
        ONLY,
        'The value must match the JSON schema in the line below (given as JSON: its name and the schema itself):',
        '{"name":"place","schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}',
        'Use the property names and types exactly as the schema gives them, include every required property, and invent no other properties.',
        '</response_format>',
      ],
    ],
    [
      'json_schema without a schema',
      { type: 'json_schema', name: 'place', description: 'A place' },
      [
        '<response_format>',
        ONLY,
        'The value must be a JSON object. The line below says what it is for (given as JSON: its name and a description):',
        '{"name":"place","description":"A place"}',
        '</response_format>',
      ],
    ],
  ])('%s', (_name, format, lines) => {
    expect(renderFormatSection(format, false).split('\n')).toEqual(lines);
  });

  it('with tools, says the format is for a reply without tool calls', () => {
    const lines = renderFormatSection({ type: 'json_object' }, true).split('\n');
    expect(lines.at(-2)).toBe('If you call tools, write only the tool calls as the tools section says; this format is for the reply you write when you call no tool.');
  });

  it('is appended after the tool section, only when JSON is asked for', () => {
    const json: ResponseFormat = { type: 'json_object' };
    expect(withFormatSection('q', {})).toBe('q');
    expect(withFormatSection('q', { responseFormat: json })).toBe(`q\n\n${renderFormatSection(json, false)}`);
    expect(withFormatSection('q', { responseFormat: json, tools, toolChoice: 'none' })).toBe(`q\n\n${renderFormatSection(json, false)}`);
    const withTools = `q\n\n${renderToolSection(tools, undefined)}`;
    expect(withFormatSection(withTools, { responseFormat: json, tools })).toBe(`${withTools}\n\n${renderFormatSection(json, true)}`);
  });
});
