import { describe, expect, it } from 'vitest';
import type { ToolSpec } from '../types.js';
import { renderToolSection, withToolSection } from './prompt.js';

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

  it('is appended only when there are tools and tool_choice is not none', () => {
    expect(withToolSection('q', {})).toBe('q');
    expect(withToolSection('q', { tools: [] })).toBe('q');
    expect(withToolSection('q', { tools, toolChoice: 'none' })).toBe('q');
    expect(withToolSection('q', { tools })).toBe(`q\n\n${renderToolSection(tools, undefined)}`);
  });
});
