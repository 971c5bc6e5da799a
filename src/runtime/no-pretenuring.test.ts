import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// the V8 settings only help if they are in place before the gateway's modules load: the entry points import them
// and nothing else statically, and load the rest afterwards
describe('entry points set V8 first', () => {
  it.each([
    ['main.ts', './serve.js'],
    ['demo.ts', './serve-demo.js'],
  ])('src/%s imports the settings alone, then %s', (file, rest) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    expect(source.match(/^import\s.*$/gm)).toEqual(["import './runtime/no-pretenuring.js';", "import './runtime/startup-heap.js';"]);
    expect(source).toContain(`await import('${rest}');`);
  });
});
