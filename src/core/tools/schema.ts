/**
 * A small JSON-schema checker for tool arguments: the subset tool schemas use in practice (`type` (one or a
 * list), `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`, `anyOf`/`oneOf`,
 * `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`). Keywords outside it (`$ref`, `format`,
 * `pattern`, ...) are not checked: an argument is never refused for a rule this checker does not know.
 * It returns readable problems, at most MAX_PROBLEMS, with a JSON path each (`$.city`, `$.items[2]`).
 */

type Json = Record<string, unknown>;

const MAX_PROBLEMS = 5;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  if (type === 'number') return actual === 'number' || actual === 'integer';
  return actual === type;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Json)[k], (b as Json)[k]));
}

/** Problems of `value` against `schema`; [] when it conforms. */
export function validateSchema(schema: unknown, value: unknown): string[] {
  const problems: string[] = [];
  check(schema, value, '$', problems);
  return problems.slice(0, MAX_PROBLEMS);
}

function check(schema: unknown, value: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_PROBLEMS || !isObject(schema)) return; // `true`, `{}` and unknown shapes accept anything
  const type = schema.type;
  if (typeof type === 'string' || Array.isArray(type)) {
    const types = (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === 'string');
    if (types.length > 0 && !types.some((t) => hasType(value, t))) {
      out.push(`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, value))) {
    out.push(`${path}: must be one of ${JSON.stringify(schema.enum)}`);
  }
  if ('const' in schema && !deepEqual(schema.const, value)) out.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0 && !options.some((s) => validateSchema(s, value).length === 0)) {
      out.push(`${path}: matches none of the allowed schemas (${key})`);
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${path}: must be >= ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${path}: must be <= ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    const length = Array.from(value).length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) out.push(`${path}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) out.push(`${path}: longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push(`${path}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) out.push(`${path}: more than ${schema.maxItems} items`);
    if (isObject(schema.items)) value.forEach((item, i) => check(schema.items, item, `${path}[${i}]`, out));
  }
  if (isObject(value)) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) {
        if (typeof name === 'string' && !Object.hasOwn(value, name)) out.push(`${path}: missing required property "${name}"`);
      }
    }
    for (const [name, item] of Object.entries(value)) {
      const sub = `${path}.${name}`;
      if (Object.hasOwn(properties, name)) check(properties[name], item, sub, out);
      else if (schema.additionalProperties === false) out.push(`${sub}: is not an allowed property`);
      else if (isObject(schema.additionalProperties)) check(schema.additionalProperties, item, sub, out);
    }
  }
}
