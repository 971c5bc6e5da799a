import { describe, expect, it } from 'vitest';
import { catalogueBody } from '../simulator/catalogue.js';
import { createLiveModelRouter, deriveAlias, derivedAliases, parseCatalogue, readCatalogue, startCatalogueLoader, usableKeys } from './catalogue.js';
import { UpstreamFailure } from '../ondemand/failure.js';
import { BUILTIN_ALIASES } from '../ondemand/models.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';

describe('deriveAlias', () => {
  it.each([
    ['predefined-openai-gpt4o', 'gpt-4o'],
    ['predefined-openai-gpt4o-mini', 'gpt-4o-mini'],
    ['predefined-openai-gpt4.1-nano', 'gpt-4.1-nano'],
    ['predefined-openai-gpto3-mini', 'o3-mini'],
    ['predefined-openai-gpt5.2', 'gpt-5.2'],
    ['predefined-claude-3.7-sonnet', 'claude-3.7-sonnet'],
    ['predefined-claude-4-sonnet', 'claude-4-sonnet'],
    ['predefined-claude-4-6-opus', 'claude-opus-4-6'],
    ['predefined-claude-sonnet-4-6', 'claude-sonnet-4-6'],
    ['predefined-gemini-2.5-pro', 'gemini-2.5-pro'],
    ['predefined-deepseek-r1', 'deepseek-r1'],
    ['predefined-xai-grok4', 'grok-4'],
    // new endpoints follow their family
    ['predefined-openai-gpt3.5-turbo', 'gpt-3.5-turbo'],
    ['predefined-openai-gpto4-mini', 'o4-mini'],
    ['predefined-claude-4-5-haiku', 'claude-haiku-4-5'],
    ['predefined-xai-grok5-fast', 'grok-5-fast'],
    ['Predefined-Mistral-Large-2', 'mistral-large-2'],
    ['predefined-openai-', 'openai-'],
    ['byoi-1234', null],
    ['byom-abc', null],
    ['gpt-4o', null],
  ])('%s → %s', (id, alias) => {
    expect(deriveAlias(id)).toBe(alias);
  });

  it('reproduces the first built-in alias of every predefined endpoint', () => {
    const firstAlias = new Map<string, string>();
    for (const [alias, ep] of Object.entries(BUILTIN_ALIASES)) if (!firstAlias.has(ep)) firstAlias.set(ep, alias);
    for (const [ep, alias] of firstAlias) expect(deriveAlias(ep), ep).toBe(alias);
  });
});

describe('parseCatalogue', () => {
  it('reads the simulator catalogue, with the inactive endpoint marked', () => {
    const entries = parseCatalogue(catalogueBody());
    expect(entries.length).toBe(20);
    expect(entries.find((e) => e.endpointId === 'predefined-openai-gpt3.5-turbo')?.active).toBe(false);
    expect(entries.find((e) => e.endpointId === 'predefined-deepseek-r1')).toMatchObject({ active: true, streaming: true, reasoningEfforts: ['low', 'medium', 'max'] });
  });

  it('is liberal: data instead of endpointsData, missing fields, junk rows, duplicates', () => {
    const entries = parseCatalogue({
      data: [
        { endpoint_id: 'predefined-x-1' },
        null,
        { endpoint_id: '' },
        { endpoint_id: 'predefined-x-1', status: 'inactive' },
        { endpoint_id: 'byom-2', status: 'INACTIVE', streaming_supported: false },
      ],
    });
    expect(entries).toEqual([
      { endpointId: 'predefined-x-1', name: 'predefined-x-1', modelId: '', active: true, streaming: true, reasoningEfforts: [] },
      { endpointId: 'byom-2', name: 'byom-2', modelId: '', active: false, streaming: false, reasoningEfforts: [] },
    ]);
  });

  it.each([[null], [{}], [{ endpointsData: 'x' }], [{ endpointsData: [] }], [{ endpointsData: [{ id: 1 }] }]])('refuses %j', (json) => {
    expect(() => parseCatalogue(json)).toThrow();
  });
});

describe('derivedAliases', () => {
  const e = (endpointId: string) => ({ endpointId, name: endpointId, modelId: '', active: true, streaming: true, reasoningEfforts: [] });
  it('skips endpoints the built-in table names, never takes a built-in name, first endpointId wins a clash', () => {
    expect(
      derivedAliases([e('predefined-openai-gpt4o'), e('predefined-gpt4o'), e('predefined-openai-gpt6'), e('predefined-xai-gpt6'), e('predefined-openai-gpt3.5-turbo')]),
    ).toEqual({ 'gpt-6': 'predefined-openai-gpt6', 'gpt-3.5-turbo': 'predefined-openai-gpt3.5-turbo' });
  });
});

describe('createLiveModelRouter', () => {
  const entries = [
    ...parseCatalogue(catalogueBody()).filter((x) => x.endpointId !== 'predefined-xai-grok4'),
    { endpointId: 'predefined-openai-gpt6', name: 'GPT-6', modelId: 'gpt-6', active: true, streaming: false, reasoningEfforts: ['low'] },
  ];

  it('serves the built-in table until a catalogue is applied, then only active endpoints are listed', () => {
    const r = createLiveModelRouter({
      defaultModel: 'gpt-4o',
      modelMap: { mine: 'byoi-7', 'gpt-4o-mini': 'predefined-openai-gpt4.1-mini' },
      virtualModels: [{ id: 'auto', endpointId: 'auto' }],
    });
    expect(r.loadedAt()).toBeNull();
    expect(r.list().map((m) => m.id)).toContain('grok-4');
    expect(r.resolve('gpt-6')?.matched).toBe('default');
    r.apply(entries);
    const ids = r.models().map((m) => m.id);
    expect(ids[0]).toBe('auto');
    expect(ids).toContain('gpt-6');
    expect(ids).toContain('mine'); // byoi endpoints are not in the public catalogue but are the operator's
    expect(ids).not.toContain('grok-4'); // not in the catalogue any more
    expect(ids).not.toContain('gpt-3.5-turbo'); // inactive
    expect(r.resolve('gpt-6')).toEqual({ endpointId: 'predefined-openai-gpt6', alias: 'gpt-6', matched: 'alias' });
    expect(r.resolve('gpt-3.5-turbo')?.endpointId).toBe('predefined-openai-gpt3.5-turbo'); // still routable
    expect(r.resolve('gpt-4o-mini')?.endpointId).toBe('predefined-openai-gpt4.1-mini'); // MODEL_MAP wins
    expect(r.isInactive('predefined-openai-gpt3.5-turbo')).toBe(true);
    expect(r.isInactive('predefined-openai-gpt4o')).toBe(false);
    expect(r.models().find((m) => m.id === 'gpt-6')).toEqual({
      id: 'gpt-6',
      endpointId: 'predefined-openai-gpt6',
      name: 'GPT-6',
      streaming: false,
      reasoning: true,
      reasoningEfforts: ['low'],
    });
    expect(r.models().find((m) => m.id === 'gpt-4o')).toMatchObject({ reasoning: false, streaming: true });
  });
});

describe('reading the catalogue', () => {
  it('usableKeys: only active or probation keys whose raw key is known, in pool order', () => {
    const keys = ['ka-1111', 'kb-2222', 'kc-3333', 'kd-4444'];
    const info = (k: string, state: string) => ({ fingerprint: fingerprintKey(k), state });
    const pool = { list: () => [info('kc-3333', 'active'), info('ka-1111', 'dead'), info('kb-2222', 'probation'), info('kz-9999', 'active')] } as never;
    expect(usableKeys(pool, keys)).toEqual(['kc-3333', 'kb-2222']);
  });

  it('readCatalogue tries the next key when one fails, and reports the last failure', async () => {
    const used: string[] = [];
    const client = {
      getJson: async (_p: string, key: string) => {
        used.push(key);
        if (key !== 'k3') throw new UpstreamFailure('upstream answered 401', { kind: 'http', phase: 'catalogue', status: 401 });
        return catalogueBody();
      },
    };
    const signal = new AbortController().signal;
    await expect(readCatalogue(client, ['k1', 'k2', 'k3'], signal)).resolves.toHaveLength(20);
    expect(used).toEqual(['k1', 'k2', 'k3']);
    await expect(readCatalogue(client, ['k1', 'k2', 'k4', 'k3'], signal)).rejects.toThrow(/401/);
    await expect(readCatalogue(client, [], signal)).rejects.toThrow(/no usable upstream key/);
  });
});

describe('startCatalogueLoader', () => {
  it('a failed read keeps the table serving and says so; a later good read swaps it in; 0 never reads', async () => {
    const router = createLiveModelRouter({ defaultModel: 'gpt-4o' });
    const warnings: string[] = [];
    let fail = true;
    let reads = 0;
    const client = {
      getJson: async () => {
        reads++;
        if (fail) throw new UpstreamFailure('upstream answered 503', { kind: 'http', phase: 'catalogue', status: 503 });
        return catalogueBody();
      },
    };
    const log = { info: () => undefined, warn: (_o: object, msg: string) => void warnings.push(msg) };
    const loader = startCatalogueLoader({ router, client, keys: () => ['k1'], refreshSec: 3600, timeoutMs: 1000, log });
    expect(await loader.refresh()).toBe(false);
    expect(router.loadedAt()).toBeNull();
    expect(warnings[0]).toMatch(/built-in model table keeps serving/);
    fail = false;
    expect(await loader.refresh()).toBe(true);
    expect(router.list().some((m) => m.id === 'gpt-3.5-turbo')).toBe(false);
    fail = true;
    expect(await loader.refresh()).toBe(false);
    expect(warnings[1]).toMatch(/last catalogue read keeps serving/);
    expect(router.loadedAt()).not.toBeNull();
    loader.stop();
    const off = startCatalogueLoader({ router, client, keys: () => ['k1'], refreshSec: 0, timeoutMs: 1000 });
    expect(await off.refresh()).toBe(false);
    expect(reads).toBe(3);
  });
});
