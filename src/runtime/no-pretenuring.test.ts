import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// the setting only helps if it is in place before the gateway's modules allocate: the entry points import it first
describe('no-pretenuring', () => {
  it.each(['main.ts', 'demo.ts'])('is the first import of src/%s', (file) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    const firstImport = /^import\s.*$/m.exec(source)?.[0];
    expect(firstImport).toBe("import './runtime/no-pretenuring.js';");
  });
});
