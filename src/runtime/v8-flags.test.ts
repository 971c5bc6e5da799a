import { describe, expect, it } from 'vitest';
import { operatorSets } from './v8-flags.js';

describe('operatorSets', () => {
  it.each([
    ['heap-growing-percent', [], undefined, false],
    ['heap-growing-percent', [], '', false],
    ['heap-growing-percent', ['--max-old-space-size=512'], '--max-semi-space-size=2', false],
    ['heap-growing-percent', ['--heap-growing-percent=50'], undefined, true],
    ['heap-growing-percent', ['--heap_growing_percent=50'], undefined, true],
    ['heap-growing-percent', ['--heap-growing-percent'], undefined, true],
    ['heap-growing-percent', [], '--enable-source-maps --heap-growing-percent=80', true],
    ['heap-growing-percent', [], '--heap-growing-percentage=5', false],
    ['interrupt-budget', ['--interrupt_budget=1000'], undefined, true],
    ['interrupt-budget', [], '--interrupt-budget-for-feedback-allocation=940', false],
    ['interrupt-budget', ['--heap-growing-percent=50'], undefined, false],
  ] as const)('%s with execArgv %j, NODE_OPTIONS %j: set by the operator = %s', (name, execArgv, nodeOptions, expected) => {
    expect(operatorSets(name, execArgv, nodeOptions)).toBe(expected);
  });
});
