import { describe, expect, it } from 'vitest';
import { machineTicksOf, stealPercent, threadCpuBetween } from '../bench/procs.js';

// /proc/stat's aggregate line: user nice system idle iowait irq softirq steal guest guest_nice
const stat = (steal: number, idle: number): string => `cpu  1000 0 200 ${idle} 10 0 40 ${steal} 300 0\ncpu0 500 0 100 ${idle / 2} 5 0 20 ${steal / 2} 150 0\nintr 12345\n`;

describe('machineTicksOf', () => {
  it.each([
    ['the aggregate line, guest time not counted twice', stat(50, 8700), { total: 10000, steal: 50 }],
    ['a kernel without the guest columns', 'cpu  10 0 5 80 0 0 0 5\n', { total: 100, steal: 5 }],
    ['no aggregate line', 'intr 1\n', { total: Number.NaN, steal: Number.NaN }],
  ])('%s', (_name, text, expected) => {
    expect(machineTicksOf(text)).toEqual(expected);
  });
});

describe('stealPercent', () => {
  it.each([
    ['none taken', stat(50, 8700), stat(50, 9700), 0],
    ['a tenth of the interval taken', stat(50, 8700), stat(150, 9600), 10],
    ['no time passed', stat(50, 8700), stat(50, 8700), Number.NaN],
  ])('%s', (_name, before, after, expected) => {
    expect(stealPercent(machineTicksOf(before), machineTicksOf(after))).toBe(expected);
  });
});

describe('threadCpuBetween', () => {
  const pid = 100;
  it.each([
    [
      'the main thread and one helper',
      [
        [100, 5e6],
        [101, 1e6],
      ],
      [
        [100, 9e6],
        [101, 3e6],
      ],
      { mainMs: 4, otherMs: 2 },
    ],
    [
      'a helper started in between counts from zero',
      [[100, 5e6]],
      [
        [100, 6e6],
        [102, 2.5e6],
      ],
      { mainMs: 1, otherMs: 2.5 },
    ],
    [
      'a helper that ended is not counted',
      [
        [100, 5e6],
        [101, 1e6],
      ],
      [[100, 7e6]],
      { mainMs: 2, otherMs: 0 },
    ],
    ['no threads read (no /proc)', [], [], { mainMs: 0, otherMs: 0 }],
  ] as const)('%s', (_name, before, after, expected) => {
    const map = (rows: ReadonlyArray<readonly [number, number]>) => new Map(rows.map(([tid, ns]) => [tid, ns]));
    expect(threadCpuBetween(pid, map(before), map(after))).toEqual(expected);
  });
});
