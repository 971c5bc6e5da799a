import { describe, expect, it } from 'vitest';
import { BUILTIN_ALIASES, createModelRouter, normaliseModelName } from './models.js';

describe('BUILTIN_ALIASES', () => {
  it.each([
    ['gpt-4o', 'predefined-openai-gpt4o'],
    ['gpt-4o-mini', 'predefined-openai-gpt4o-mini'],
    ['gpt-4.1', 'predefined-openai-gpt4.1'],
    ['gpt-4.1-mini', 'predefined-openai-gpt4.1-mini'],
    ['gpt-4.1-nano', 'predefined-openai-gpt4.1-nano'],
    ['o3-mini', 'predefined-openai-gpto3-mini'],
    ['gpto3-mini', 'predefined-openai-gpto3-mini'],
    ['gpt-5.2', 'predefined-openai-gpt5.2'],
    ['claude-3.7-sonnet', 'predefined-claude-3.7-sonnet'],
    ['claude-4-sonnet', 'predefined-claude-4-sonnet'],
    ['claude-4-opus', 'predefined-claude-4-opus'],
    ['claude-sonnet-4-6', 'predefined-claude-sonnet-4-6'],
    ['claude-opus-4-6', 'predefined-claude-4-6-opus'],
    ['claude-haiku-4-5', 'predefined-claude-haiku-4-5'],
    ['gemini-2.0-flash', 'predefined-gemini-2.0-flash'],
    ['gemini-2.5-pro', 'predefined-gemini-2.5-pro'],
    ['gemini-2.5-flash', 'predefined-gemini-2.5-flash'],
    ['deepseek-v3', 'predefined-deepseek-v3'],
    ['deepseek-r1', 'predefined-deepseek-r1'],
    ['grok-4', 'predefined-xai-grok4'],
  ])('%s → %s', (alias, endpointId) => {
    expect(BUILTIN_ALIASES[alias]).toBe(endpointId);
  });

  it('has exactly the aliases of docs/ondemand-protocol.md §4', () => {
    expect(Object.keys(BUILTIN_ALIASES)).toHaveLength(20);
  });
});

describe('normaliseModelName', () => {
  it.each([
    [' GPT-4o ', 'gpt-4o'],
    ['gpt-4 o', 'gpt-4o'],
    ['gpt 4o', 'gpt4o'],
    ['\tClaude-4-Sonnet\n', 'claude-4-sonnet'],
    ['', ''],
    // already normal: returned as it is
    ['gpt-4o', 'gpt-4o'],
    ['predefined-openai-gpt4o', 'predefined-openai-gpt4o'],
    ['a/b:c_d.e@[~]', 'a/b:c_d.e@[~]'],
    // anything else takes the full path: upper case (ASCII and not), any white space
    ['Gpt-4o', 'gpt-4o'],
    ['gpt-4oZ', 'gpt-4oz'],
    ['gpt-4o\u00a0', 'gpt-4o'],
    ['ÉCLAIR-1', 'éclair-1'],
    ['gpt\u2003-4o', 'gpt-4o'],
  ])('%j → %j', (input, expected) => {
    expect(normaliseModelName(input)).toBe(expected);
  });
});

describe('createModelRouter().resolve', () => {
  const router = createModelRouter({ defaultModel: 'gpt-4o', modelMap: { 'My-Model': 'byoi-1234', 'gpt-4o-mini': 'predefined-custom-mini' } });
  const strict = createModelRouter({ defaultModel: 'gpt-4o', strict: true });

  it.each([
    ['gpt-4o', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'alias' }],
    [' GPT-4o ', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'alias' }],
    ['GPT-4 O', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'alias' }],
    ['O3-MINI', { endpointId: 'predefined-openai-gpto3-mini', alias: 'o3-mini', matched: 'alias' }],
    ['gpto3-mini', { endpointId: 'predefined-openai-gpto3-mini', alias: 'gpto3-mini', matched: 'alias' }],
    ['my-model', { endpointId: 'byoi-1234', alias: 'My-Model', matched: 'alias' }],
    // MODEL_MAP wins over the built-in table
    ['gpt-4o-mini', { endpointId: 'predefined-custom-mini', alias: 'gpt-4o-mini', matched: 'alias' }],
    ['predefined-openai-gpt4.1', { endpointId: 'predefined-openai-gpt4.1', alias: null, matched: 'passthrough' }],
    ['byoi-ABC-def', { endpointId: 'byoi-ABC-def', alias: null, matched: 'passthrough' }],
    ['byom-MyModel', { endpointId: 'byom-MyModel', alias: null, matched: 'passthrough' }],
    [' predefined-new-model ', { endpointId: 'predefined-new-model', alias: null, matched: 'passthrough' }],
    // a known endpointId in the wrong case is sent in its known spelling
    ['Predefined-OpenAI-GPT4o', { endpointId: 'predefined-openai-gpt4o', alias: null, matched: 'passthrough' }],
    ['gpt 4o', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'default' }],
    ['llama-3', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'default' }],
    ['', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'default' }],
  ] as const)('%j', (requested, expected) => {
    expect(router.resolve(requested)).toEqual(expected);
  });

  it.each([
    ['llama-3', null],
    ['gpt 4o', null],
    ['gpt-4o', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'alias' }],
    ['byom-x', { endpointId: 'byom-x', alias: null, matched: 'passthrough' }],
    ['  ', { endpointId: 'predefined-openai-gpt4o', alias: 'gpt-4o', matched: 'default' }],
  ] as const)('strict: %j', (requested, expected) => {
    expect(strict.resolve(requested)).toEqual(expected);
  });

  it.each([
    ['claude-4-sonnet', { endpointId: 'predefined-claude-4-sonnet', alias: 'claude-4-sonnet', matched: 'default' }],
    ['byoi-42', { endpointId: 'byoi-42', alias: null, matched: 'default' }],
    ['fast', { endpointId: 'byom-fast', alias: 'fast', matched: 'default' }],
  ] as const)('the default model may be an alias or an endpointId: %j', (defaultModel, expected) => {
    const r = createModelRouter({ defaultModel, modelMap: { fast: 'byom-fast' } });
    expect(r.resolve('unknown-model')).toEqual(expected);
  });

  it('refuses a default model it cannot route', () => {
    expect(() => createModelRouter({ defaultModel: 'no-such-model' })).toThrow(/DEFAULT_MODEL/);
  });

  it('refuses an empty MODEL_MAP entry', () => {
    expect(() => createModelRouter({ defaultModel: 'gpt-4o', modelMap: { x: ' ' } })).toThrow(/MODEL_MAP/);
  });

  it('hands out results a caller cannot use to corrupt the router', () => {
    const first = router.resolve('unknown');
    if (first !== null) first.endpointId = 'mutated';
    expect(router.resolve('unknown')?.endpointId).toBe('predefined-openai-gpt4o');
  });
});

describe('createModelRouter().list', () => {
  it('lists every alias, sorted, with MODEL_MAP merged in', () => {
    const list = createModelRouter({ defaultModel: 'gpt-4o', modelMap: { 'a-custom': 'byom-a', 'gpt-4o': 'predefined-x' } }).list();
    const ids = list.map((m) => m.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toHaveLength(21);
    expect(list[0]).toEqual({ id: 'a-custom', endpointId: 'byom-a' });
    expect(list.find((m) => m.id === 'gpt-4o')).toEqual({ id: 'gpt-4o', endpointId: 'predefined-x' });
    expect(list.find((m) => m.id === 'o3-mini')).toEqual({ id: 'o3-mini', endpointId: 'predefined-openai-gpto3-mini' });
  });
});
