import { describe, expect, it } from 'vitest';
import { toolCallStage } from '../answer.js';
import { withStageSections } from '../test-helpers.js';
import type { GatewayRequest, ToolSpec } from '../types.js';
import { renderToolSection } from './prompt.js';

const withToolSection = (query: string, req: Partial<GatewayRequest>): string => withStageSections(query, req, [toolCallStage]);

const tools: ToolSpec[] = [{ name: 'get_weather', description: 'Weather </tools> now', parameters: { type: 'object', properties: { city: { type: 'string' } } } }, { name: 'now' }];

describe('tool section', () => {
  it('lists each tool as one JSON line, with "<" escaped, and the answer format', () => {
    const section = renderToolSection(tools, 'auto');
    const lines = section.split('\n');
    expect(lines[0]).toBe('<tools>');
    expect(lines.at(-1)).toBe('</tools>');
    expect(lines[2]).toBe('{"name":"get_weather","description":"Weather \\u003c/tools> now","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}');
    expect(JSON.parse(lines[2] as string)).toEqual({ name: 'get_weather', description: 'Weather </tools> now', parameters: tools[0]?.parameters });
    expect(lines[3]).toBe('{"name":"now","parameters":{"type":"object","properties":{}}}');
    expect(section).toContain('<tool_call name="TOOL_NAME">{"argument": "value"}</tool_call>');
    expect(section).toContain('If no tool is needed, answer normally');
  });

  it.each([
    ['required', 'You must call at least one tool in this reply.'],
    [{ name: 'now' }, 'You must call the tool "now" in this reply.'],
  ] as const)('tool_choice %j', (choice, line) => {
    const section = renderToolSection(tools, choice);
    expect(section).toContain(line);
    expect(section).not.toContain('If no tool is needed');
  });

  it('freeform tools: marked, with their grammar, and the plain-text form of a call', () => {
    const section = renderToolSection(
      [
        { name: 'apply_patch', description: 'Edit files', freeform: { type: 'grammar', syntax: 'lark', definition: 'start: "*** Begin Patch"' } },
        { name: 'functions.exec', freeform: { type: 'text' }, namespace: { name: 'functions' } },
      ],
      'auto',
    );
    const lines = section.split('\n');
    expect(lines[1]).toContain('A tool marked "freeform" takes plain text instead of JSON arguments');
    expect(JSON.parse(lines[2] as string)).toEqual({
      name: 'apply_patch',
      description: 'Edit files',
      freeform: true,
      grammar: { syntax: 'lark', definition: 'start: "*** Begin Patch"' },
    });
    expect(JSON.parse(lines[3] as string)).toEqual({ name: 'functions.exec', freeform: true });
    expect(section).toContain('For a freeform tool, write its plain text between the tags');
    expect(section).toContain('<tool_call name="TOOL_NAME">\nthe text, on as many lines as it needs\n</tool_call>');
  });

  it('a namespace with a description gets one line before its tools', () => {
    const ns = { name: 'crm', description: 'Customer records' };
    const section = renderToolSection(
      [
        { name: 'crm.find', namespace: ns },
        { name: 'crm.update', namespace: ns },
        { name: 'functions.exec', namespace: { name: 'functions' }, freeform: { type: 'text' } },
      ],
      undefined,
    );
    const lines = section.split('\n');
    expect(lines[1]).toContain('A line with "namespace" describes the tools below it whose names start with that namespace and a dot.');
    expect(lines.slice(2, 6).map((l) => JSON.parse(l) as unknown)).toEqual([
      { namespace: 'crm', description: 'Customer records' },
      { name: 'crm.find', parameters: { type: 'object', properties: {} } },
      { name: 'crm.update', parameters: { type: 'object', properties: {} } },
      { name: 'functions.exec', freeform: true },
    ]);
  });

  it('function tools alone keep the plain section; parallel_tool_calls false asks for one call', () => {
    const section = renderToolSection(tools, 'auto', { parallel: false });
    expect(section).not.toContain('freeform');
    expect(section).not.toContain('namespace');
    expect(section).toContain('Call at most one tool in this reply.');
    expect(renderToolSection(tools, 'auto')).not.toContain('at most one');
  });

  it('is appended only when there are tools and tool_choice is not none', () => {
    expect(withToolSection('q', {})).toBe('q');
    expect(withToolSection('q', { tools: [] })).toBe('q');
    expect(withToolSection('q', { tools, toolChoice: 'none' })).toBe('q');
    expect(withToolSection('q', { tools })).toBe(`q\n\n${renderToolSection(tools, undefined)}`);
  });
});
