/**
 * How the simulated model answers a query carrying the gateway's `<response_format>` section
 * (src/core/structured/prompt.ts): with JSON built from the schema in the section (the tools' sampleValue), or
 * `{"answer": "answer-value"}` when there is no schema. The JSON is indented, so the word splitter streams it in
 * several deltas cut inside the value. Markers in the query make it misbehave the way real models do.
 */
import { querySection, sampleValue, wrongArguments } from './tools.js';

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

/** The simulated answer when the query asks for JSON; undefined when it does not. */
export function simJsonAnswer(query: string): string | undefined {
  const found = querySection(query, 'response_format');
  if (found === undefined) return undefined;
  if (query.includes(JSON_SKIP_MARKER)) return JSON_SKIP_ANSWER;
  const schema = found.entries[0]?.schema; // the section's one JSON line: name, description, schema
  const value = query.includes(JSON_MISMATCH_MARKER) ? wrongArguments(schema) : simJsonValue(schema);
  const text = simJsonText(value);
  return query.includes(JSON_FENCED_MARKER) ? JSON_FENCE_BEFORE + text + JSON_FENCE_AFTER : text;
}
