/**
 * Preloaded into a benchmarked process by `bench/memory.ts --split` (`node --import`): on SIGUSR2 it appends one JSON
 * line to MEM_PROBE_OUT with where the process's memory is: process.memoryUsage(), V8's heap spaces (used, committed),
 * its code statistics and the kernel's RSS and peak. Nothing else: it allocates nothing until asked.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapCodeStatistics, getHeapSpaceStatistics } from 'node:v8';

const out = process.env['MEM_PROBE_OUT'];
const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;
const statusMb = (field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
};

if (out !== undefined) {
  process.on('SIGUSR2', () => {
    const u = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { used: mb(s.space_used_size), size: mb(s.space_size) }]));
    const code = getHeapCodeStatistics();
    const line = {
      rss: mb(u.rss),
      hwm: statusMb('VmHWM'),
      heapTotal: mb(u.heapTotal),
      heapUsed: mb(u.heapUsed),
      external: mb(u.external),
      arrayBuffers: mb(u.arrayBuffers),
      code: mb(code.code_and_metadata_size + code.bytecode_and_metadata_size),
      spaces,
    };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}
