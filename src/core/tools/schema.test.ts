import { describe, expect, it } from 'vitest';
import { validateSchema } from './schema.js';

describe('validateSchema', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      age: { type: 'integer', minimum: 0, maximum: 150 },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
      mode: { enum: ['a', 'b'] },
      nested: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      either: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      ratio: { type: ['number', 'null'] },
    },
    required: ['name'],
    additionalProperties: false,
  };
  it.each<[string, unknown, string[]]>([
    ['valid', { name: 'x', age: 3, tags: ['a'], mode: 'a', nested: { ok: true }, either: null, ratio: 0.5 }, []],
    ['integer accepts 2.0 but not 2.5', { name: 'x', age: 2.5 }, ['$.age: expected integer, got number']],
    ['missing required', {}, ['$: missing required property "name"']],
    ['wrong type', { name: 5 }, ['$.name: expected string, got integer']],
    ['enum', { name: 'x', mode: 'c' }, ['$.mode: must be one of ["a","b"]']],
    ['items', { name: 'x', tags: ['a', 1] }, ['$.tags[1]: expected string, got integer']],
    ['maxItems', { name: 'x', tags: ['a', 'b', 'c'] }, ['$.tags: more than 2 items']],
    ['nested required', { name: 'x', nested: {} }, ['$.nested: missing required property "ok"']],
    ['anyOf', { name: 'x', either: 1 }, ['$.either: matches none of the allowed schemas (anyOf)']],
    ['type list', { name: 'x', ratio: 'a' }, ['$.ratio: expected number or null, got string']],
    ['additionalProperties false', { name: 'x', extra: 1 }, ['$.extra: is not an allowed property']],
    ['range', { name: 'x', age: -1 }, ['$.age: must be >= 0']],
    ['minLength', { name: '' }, ['$.name: shorter than 1']],
    ['top-level type', [], ['$: expected object, got array']],
  ])('%s', (_name, value, problems) => {
    expect(validateSchema(schema, value)).toEqual(problems);
  });

  it('accepts anything without a schema, and ignores unknown keywords', () => {
    expect(validateSchema(undefined, { a: 1 })).toEqual([]);
    expect(validateSchema({ type: 'string', format: 'email', pattern: '^x' }, 'nope')).toEqual([]);
  });
});
