import { describe, expect, it } from 'vitest';
import { redactPath } from './redact.js';

describe('redactPath', () => {
  it.each([
    ['/v1/chat/completions', '/v1/chat/completions'],
    ['/admin/keys/k:3f9a1c2b/disable', '/admin/keys/k:3f9a1c2b/disable'],
    ['/admin/keys/k:3f9a1c2b3f9a1c2b', '/admin/keys/k:3f9a1c2b3f9a1c2b'],
    ['/v1/od-key-beta-222222', '/v1/[redacted]'],
    ['/admin/keys/sk-abcdefghijklmnop1234/test', '/admin/keys/[redacted]/test'],
    ['/v1/models/gpt-4o-2024-08-06', '/v1/models/[redacted]'],
    ['/v1/models/claude-sonnet', '/v1/models/claude-sonnet'],
    ['/', '/'],
  ])('%s → %s', (input, output) => {
    expect(redactPath(input)).toBe(output);
  });
});
