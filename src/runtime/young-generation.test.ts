import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preload, runNode } from './test-helpers.js';

// V8's young generation in MB after 3 million small objects that all survive, then again after as many more once
// releaseYoungGeneration() ran (when `release`)
const youngMb = (preloads: string[], release: boolean, flags: string[] = []) =>
  JSON.parse(
    runNode(
      `import { getHeapSpaceStatistics } from 'node:v8';
       const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
       const kept = [];
       const fill = () => { for (let i = 0; i < 3e6; i++) kept.push({ i }); };
       fill();
       const during = young();
       ${release ? `(await import(${JSON.stringify(new URL('./young-generation.ts', import.meta.url).href)})).releaseYoungGeneration();` : ''}
       fill();
       console.log(JSON.stringify([during, young()]));`,
      preloads,
      flags,
    ),
  ) as [number, number];
const withModule = preload('./young-generation.ts');
// held at its start: 4 MB on Node 20, 4-8.5 on Node 24 (its start size moves between runs); grown: 32-128
const HELD_MB = 12;

describe('young-generation', () => {
  it('keeps the young generation small until released, then V8 grows it again', () => {
    const [during, after] = youngMb(withModule, true);
    expect(during).toBeLessThanOrEqual(HELD_MB);
    expect(after).toBeGreaterThan(HELD_MB);
  }, 60_000);

  it('without it, V8 grows the young generation under the same survivors', () => {
    expect(youngMb([], false)[0]).toBeGreaterThan(HELD_MB);
  }, 60_000);

  it('leaves V8 alone when the operator sets the growth factor (theirs wins)', () => {
    expect(youngMb(withModule, false, ['--semi-space-growth-factor=2'])[0]).toBeGreaterThan(HELD_MB);
  }, 60_000);

  // a static import is read and compiled with the whole module graph before any module runs, and that alone grows
  // the young generation: the entry points import only the V8 settings and node's own modules statically
  it.each(['main.ts', 'demo.ts'])('src/%s loads the gateway after the V8 settings', (file) => {
    const source = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
    const statics = [...source.matchAll(/^import\s(?:[^'"]*\sfrom\s)?'([^']+)';$/gm)].map((m) => m[1] as string);
    expect(statics).toContain('./runtime/young-generation.js');
    for (const spec of statics) expect(spec.startsWith('./runtime/') || spec.startsWith('node:')).toBe(true);
  });
});
