/**
 * Structured output, emulated, half one: the `<response_format>` section appended to the query. OnDemand has no
 * JSON mode, so the request for one JSON value (and its schema) travels in the text, after the tool section when
 * there is one. The wording and the reasons: docs/structured-output.md, docs/transcript.md.
 */
import type { ResponseFormat } from '../types.js';
import { safeJson } from '../tools/prompt.js';

export const FORMAT_OPEN = '<response_format>';
export const FORMAT_CLOSE = '</response_format>';

export const JSON_ONLY_LINE = 'Write your reply as one JSON value and nothing else: no text before or after it, no Markdown code fence around it, no comments in it.';
export const JSON_OBJECT_LINE = 'The value must be a JSON object.';
export const SCHEMA_RULES_LINE = 'Use the property names and types exactly as the schema gives them, include every required property, and invent no other properties.';
export const WITH_TOOLS_LINE = 'If you call tools, write only the tool calls as the tools section says; this format is for the reply you write when you call no tool.';

export function renderFormatSection(format: ResponseFormat, withTools: boolean): string {
  const lines = [FORMAT_OPEN, JSON_ONLY_LINE];
  if (format.type === 'json_object') {
    lines.push(JSON_OBJECT_LINE);
  } else {
    // one JSON line, like a tool in the tool section: a name or description cannot break out of it
    const entry: Record<string, unknown> = { name: format.name };
    if (format.description !== undefined) entry.description = format.description;
    const described = format.description !== undefined;
    if (format.schema !== undefined) {
      entry.schema = format.schema;
      const about = described ? 'its name, a description and the schema itself' : 'its name and the schema itself';
      lines.push(`The value must match the JSON schema in the line below (given as JSON: ${about}):`, safeJson(entry), SCHEMA_RULES_LINE);
    } else {
      const about = described ? 'its name and a description' : 'its name';
      lines.push(`${JSON_OBJECT_LINE} The line below says what it is for (given as JSON: ${about}):`, safeJson(entry));
    }
  }
  if (withTools) lines.push(WITH_TOOLS_LINE);
  lines.push(FORMAT_CLOSE);
  return lines.join('\n');
}
