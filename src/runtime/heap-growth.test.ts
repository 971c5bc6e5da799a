import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// the setting bounds the old generation from the first full collection on: the entry points import it before the gateway
describe('heap-growth', () => {
  it.each(['main.ts', 'demo.ts'])('is imported by src/%s right after no-pretenuring, before anything of the gateway', (file) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    const imports = source.match(/^import\s.*$/gm) ?? [];
    expect(imports.slice(0, 2)).toEqual(["import './runtime/no-pretenuring.js';", "import './runtime/heap-growth.js';"]);
  });
});
