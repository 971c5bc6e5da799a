import { describe, expect, it } from 'vitest';
import { ClientKeyRegistry, clientKeysEnv, keyDigest } from './keys.js';
import { MemoryQuotaStore, secondsToNextDay } from '../store/quota-store.js';

describe('MemoryQuotaStore', () => {
  it('admits N in any 60 s (sliding), says when the oldest leaves the window', () => {
    const s = new MemoryQuotaStore();
    const t0 = 1_000_000;
    expect(s.hitMinute('a', 2, t0).allowed).toBe(true);
    expect(s.hitMinute('a', 2, t0 + 30_000).allowed).toBe(true);
    expect(s.hitMinute('a', 2, t0 + 59_000)).toEqual({ allowed: false, retryAfterSec: 1 });
    expect(s.hitMinute('b', 2, t0 + 59_000).allowed).toBe(true);
    expect(s.hitMinute('a', 2, t0 + 60_001).allowed).toBe(true);
    expect(s.hitMinute('a', 2, t0 + 60_002)).toEqual({ allowed: false, retryAfterSec: 30 });
  });

  it('counts tokens per UTC day', () => {
    const s = new MemoryQuotaStore();
    const day = Date.UTC(2025, 0, 31, 23, 59, 0);
    s.addTokens('a', 90, day);
    expect(s.checkDay('a', 100, day).allowed).toBe(true);
    s.addTokens('a', 10, day);
    expect(s.checkDay('a', 100, day)).toEqual({ allowed: false, retryAfterSec: 60 });
    expect(s.checkDay('a', 100, day + 60_000).allowed).toBe(true);
    expect(secondsToNextDay(Date.UTC(2025, 0, 1))).toBe(86_400);
  });
});

describe('CLIENT_KEYS', () => {
  it('parses named keys with limits', () => {
    const keys = clientKeysEnv.parse('[{"name":"team","key":"sk-team-12345678","models":["gpt-4o"],"rpm":10,"tpd":1000}]');
    expect(keys).toEqual([{ name: 'team', key: 'sk-team-12345678', models: ['gpt-4o'], rpm: 10, tpd: 1000 }]);
    expect(clientKeysEnv.parse('')).toEqual([]);
  });

  it.each([
    ['not json', '{oops'],
    ['duplicate names', '[{"name":"a","key":"sk-aaaaaaaa1"},{"name":"a","key":"sk-aaaaaaaa2"}]'],
    ['same key twice', '[{"name":"a","key":"sk-secret-same"},{"name":"b","key":"sk-secret-same"}]'],
    ['zero rpm', '[{"name":"a","key":"sk-aaaaaaaa1","rpm":0}]'],
    ['bad name', '[{"name":"a b","key":"sk-aaaaaaaa1"}]'],
  ])('refuses %s without echoing a key', (_what, text) => {
    const r = clientKeysEnv.safeParse(text);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).not.toContain('sk-');
  });
});

describe('ClientKeyRegistry', () => {
  it('matches by digest; configured keys win a name clash; indexes are positions', () => {
    const reg = new ClientKeyRegistry([{ name: 'team', key: 'sk-team-12345678', rpm: 5 }]);
    reg.setStored([
      { name: 'team', digest: keyDigest('sk-other-12345678') },
      { name: 'app', digest: keyDigest('sk-app-12345678'), tpd: 9 },
    ]);
    expect(reg.match('sk-team-12345678')).toMatchObject({ name: 'team', rpm: 5, source: 'config', index: 0 });
    expect(reg.match('sk-other-12345678')).toBeUndefined();
    expect(reg.match('sk-app-12345678')).toMatchObject({ name: 'app', tpd: 9, source: 'admin', index: 1 });
    expect(reg.match(undefined)).toBeUndefined();
    expect(reg.size).toBe(2);
  });
});
