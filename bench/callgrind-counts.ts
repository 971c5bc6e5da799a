/**
 * Reading a callgrind dump's totals for `npm run bench:compare -- --count=instructions|misses`, and the simulated
 * last-level cache made to match this machine's per-core L2. Pure: text in, figures out.
 */

/** per request: instructions, and with the cache and branch simulation on, the misses it counted */
export interface Counts {
  instructions: number;
  /** first-level misses: instruction fetches, data reads, data writes */
  l1Misses: number;
  /** misses of the simulated last level (the L2 here): each one is a trip to the L3 or memory */
  l2Misses: number;
  /** conditional and indirect branches mispredicted */
  mispredicts: number;
}

/** a dump's `totals:` line by event name (`events:` gives the names; events a dump did not count are absent) */
export function dumpTotals(text: string): Map<string, number> {
  const events = /^events:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  const totals = /^totals:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (events === undefined || totals === undefined) throw new Error('no totals in the callgrind dump');
  return new Map(events.map((e, i) => [e, totals[i] ?? 0]));
}

/** the totals divided by `per` (requests or streams counted) */
export function countsOf(totals: ReadonlyMap<string, number>, per: number): Counts {
  const sum = (...names: string[]): number => names.reduce((a, n) => a + (totals.get(n) ?? 0), 0) / per;
  return {
    instructions: sum('Ir'),
    l1Misses: sum('I1mr', 'D1mr', 'D1mw'),
    l2Misses: sum('ILmr', 'DLmr', 'DLmw'),
    mispredicts: sum('Bcm', 'Bim'),
  };
}

/**
 * callgrind's `--LL=size,ways,line` for the L2 described by a /sys cache entry (`read` gives a file of
 * /sys/devices/system/cpu/cpu0/cache/indexN), or none: callgrind then simulates the L3 it finds, which on a big
 * server holds everything and shows no misses at all.
 */
export function l2Flag(read: (file: string) => string): string | undefined {
  if (read('level').trim() !== '2') return undefined;
  const m = /^(\d+)([KM])$/.exec(read('size').trim());
  if (m === null) return undefined;
  const bytes = Number(m[1]) * (m[2] === 'M' ? 1024 * 1024 : 1024);
  return `--LL=${bytes},${read('ways_of_associativity').trim()},${read('coherency_line_size').trim()}`;
}
