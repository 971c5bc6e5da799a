import { describe, expect, it } from 'vitest';
import { parseConfigFile } from './file.js';

describe('parseConfigFile', () => {
  it.each([
    ['an empty object', '{}', {}],
    ['keys as strings', '{"privateKeys":["a"],"ondemandKeys":["k1"]}', { privateKeys: ['a'], ondemandKeys: ['k1'] }],
    [
      'upstream keys with weight and label',
      '{"ondemandKeys":["k1",{"key":" k2 ","weight":2.5,"label":"big"}]}',
      { ondemandKeys: ['k1', { key: 'k2', weight: 2.5, label: 'big' }] },
    ],
    ['unknown top-level fields kept', '{"futureSetting":{"x":[1]}}', { futureSetting: { x: [1] } }],
    ['a byte-order mark', '\uFEFF{"privateKeys":["a"]}', { privateKeys: ['a'] }],
  ])('accepts %s', (_name, text, expected) => {
    expect(parseConfigFile(text)).toEqual(expected);
  });

  it.each([
    ['not JSON', '{"privateKeys":["secret-one"', /^not valid JSON \(line 1, column \d+\)$/],
    ['an array', '["a"]', /^\(root\): /],
    ['a string for a list', '{"privateKeys":"secret-one"}', /^privateKeys: /],
    ['an empty key', '{"privateKeys":[""]}', /^privateKeys\.0: must not be empty/],
    ['a key with whitespace', '{"ondemandKeys":["secret one"]}', /^ondemandKeys\.0: /],
    ['an object without key', '{"ondemandKeys":[{"weight":1}]}', /^ondemandKeys\.0/],
    ['a zero weight', '{"ondemandKeys":[{"key":"secret-one","weight":0}]}', /^ondemandKeys\.0/],
  ])('refuses %s, naming where without echoing the value', (_name, text, message) => {
    let err: Error | undefined;
    try {
      parseConfigFile(text);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain('secret');
  });

  it('reports the line of a syntax error in a multi-line file', () => {
    expect(() => parseConfigFile('{\n  "privateKeys": ["a"],\n  oops\n}')).toThrow(/line 3/);
  });
});
