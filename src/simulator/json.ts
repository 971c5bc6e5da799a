/**
 * How the simulated model answers a query carrying the gateway's `<response_format>` section
 * (src/core/structured/prompt.ts): with JSON built from the schema in the section (the tools' sampleValue), or
 * `{"answer": "answer-value"}` when there is no schema. The JSON is indented, so the word splitter streams it in
 * several deltas cut inside the value. Markers in the query make it misbehave the way real models do.
 */
import { sampleValue, wrongArguments } from './tools.js';

/** Wrap the JSON in a ```json fence, with a sentence before and after it. */
export const JSON_FENCED_MARKER = 'SIM_JSON_FENCED';
/** Answer with JSON whose required properties have the wrong type. */
export const JSON_MISMATCH_MARKER = 'SIM_JSON_MISMATCH';
/** Answer in plain text, with no JSON in it. */
export const JSON_SKIP_MARKER = 'SIM_JSON_SKIP';

export const JSON_FENCE_BEFORE = 'Here is the JSON you asked for:\n```json\n';
export const JSON_FENCE_AFTER = '\n```\nLet me know if you need anything else.';
export const JSON_SKIP_ANSWER = 'I would rather answer in words.';

const OBJECT_WITHOUT_SCHEMA = { type: 'object', properties: { answer: { type: 'string' } } };

/** The JSON text the simulator writes for a value: indented by two spaces. */
export const simJsonText = (value: unknown): string => JSON.stringify(value, null, 2);

/** The value the simulator answers for `schema` (undefined: the format section had none). */
export const simJsonValue = (schema: unknown): unknown => sampleValue(schema ?? OBJECT_WITHOUT_SCHEMA, 'value');

/** The schema in a format section: the `schema` of its JSON line, if any. */
function sectionSchema(section: string): unknown {
  for (const line of section.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { schema?: unknown };
      if (typeof entry === 'object' && entry !== null) return entry.schema;
    } catch {
      // not the schema line
    }
  }
  return undefined;
}

/** The simulated answer when the query asks for JSON; undefined when it does not. */
export function simJsonAnswer(query: string): string | undefined {
  const open = query.lastIndexOf('\n<response_format>\n');
  if (open < 0) return undefined;
  if (query.includes(JSON_SKIP_MARKER)) return JSON_SKIP_ANSWER;
  const close = query.indexOf('\n</response_format>', open);
  const schema = sectionSchema(query.slice(open, close < 0 ? undefined : close));
  const value = query.includes(JSON_MISMATCH_MARKER) ? wrongArguments(schema) : simJsonValue(schema);
  const text = simJsonText(value);
  return query.includes(JSON_FENCED_MARKER) ? JSON_FENCE_BEFORE + text + JSON_FENCE_AFTER : text;
}
