import { describe, expect, it } from 'vitest';
import { machineTicksOf, stealPercent } from '../bench/procs.js';

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
