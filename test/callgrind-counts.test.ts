import { describe, expect, it } from 'vitest';
import { countsOf, dumpTotals, l2Flag } from '../bench/callgrind-counts.js';

const SIMULATED = `# callgrind format
version: 1
events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim
fl=(1) ???
fn=(1) 0x000000000d064040
0 10 2 1 3 1 0 1 0 0 4 1 2 1
summary: 1000 300 100 40 20 10 4 3 2 500 30 60 6
totals: 2000 600 200 80 40 20 8 6 4 1000 60 120 12
`;
const PLAIN = `events: Ir\nsummary: 5000\ntotals: 5000\n`;

describe('dumpTotals and countsOf', () => {
  it.each([
    ['a dump with the cache and branch simulation', SIMULATED, 2, { instructions: 1000, l1Misses: 70, l2Misses: 9, mispredicts: 36 }],
    ['an instructions-only dump: the misses it did not count are 0', PLAIN, 10, { instructions: 500, l1Misses: 0, l2Misses: 0, mispredicts: 0 }],
  ])('%s', (_name, text, per, expected) => {
    expect(countsOf(dumpTotals(text), per)).toEqual(expected);
  });

  it('reads the totals line, not the summary', () => {
    expect(dumpTotals(SIMULATED).get('Ir')).toBe(2000);
  });

  it('refuses a dump without totals', () => {
    expect(() => dumpTotals('events: Ir\n')).toThrow(/no totals/);
  });
});

describe('l2Flag', () => {
  const sysFiles = (files: Record<string, string>) => (file: string) => {
    const v = files[file];
    if (v === undefined) throw new Error(`no ${file}`);
    return `${v}\n`;
  };
  it.each([
    ['a 1280 KiB 20-way L2', { level: '2', size: '1280K', ways_of_associativity: '20', coherency_line_size: '64' }, '--LL=1310720,20,64'],
    ['a 2 MiB 16-way L2', { level: '2', size: '2M', ways_of_associativity: '16', coherency_line_size: '64' }, '--LL=2097152,16,64'],
    ['an entry that is not the L2', { level: '3', size: '49152K', ways_of_associativity: '12', coherency_line_size: '64' }, undefined],
    ['a size it cannot read', { level: '2', size: 'unknown', ways_of_associativity: '8', coherency_line_size: '64' }, undefined],
  ])('%s', (_name, files, expected) => {
    expect(l2Flag(sysFiles(files))).toBe(expected);
  });
});
