import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode, GatewayError, gatewayError, invalidRequest } from './errors.js';

const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

describe('the error catalogue', () => {
  it('docs/errors.md lists every code with its status and type, and no other', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => ({ code: m[1], status: Number(m[2]), type: m[3] }));
    expect(rows.map((r) => r.code).sort()).toEqual([...codes].sort());
    for (const row of rows) {
      const entry = ERROR_CATALOGUE[row.code as ErrorCode];
      expect({ status: row.status, type: row.type }, row.code).toEqual({ status: entry.status, type: entry.type });
    }
  });

  it.each(codes)('%s: gatewayError takes status and type from the catalogue', (code) => {
    const err = gatewayError(code, 'words', { param: 'p' });
    expect(err).toBeInstanceOf(GatewayError);
    expect([err.status, err.type, err.code, err.param, err.message]).toEqual([ERROR_CATALOGUE[code].status, ERROR_CATALOGUE[code].type, code, 'p', 'words']);
  });

  it.each([
    { detail: { status: 422 }, expected: { status: 422, code: 'upstream_invalid_request' } },
    { detail: { upstreamCode: 'model_error' }, expected: { status: 400, code: 'model_error' } },
    { detail: { upstreamCode: undefined }, expected: { status: 400, code: 'upstream_invalid_request' } },
  ])('a status or OnDemand code given by the caller wins: $detail', ({ detail, expected }) => {
    const err = gatewayError('upstream_invalid_request', 'x', detail);
    expect({ status: err.status, code: err.code }).toEqual(expected);
  });

  it('invalidRequest is a 400 whatever the catalogue says of the code, and a 400 with no code without one', () => {
    expect([invalidRequest('m', 'p', 'unsupported_media_type').status, invalidRequest('m', 'p').code, invalidRequest('m').status]).toEqual([400, null, 400]);
  });

  it("no production file but the catalogue builds a GatewayError of its own (fastify's passed-through 4xx aside)", () => {
    const src = new URL('../', import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('test-helpers') && !f.startsWith('simulator'),
    );
    const builders = files.filter((f) => readFileSync(new URL(f, src), 'utf8').includes('new GatewayError('));
    expect(builders.sort()).toEqual(['core/errors.ts', 'http/errors.ts']);
  });
});
