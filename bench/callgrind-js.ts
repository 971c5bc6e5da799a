/**
 * `npx tsx bench/callgrind-js.ts <callgrind.out> <perf-PID.map> [requests] [top] [--event=A+B]`: where the instructions of a
 * callgrind dump went (`npm run bench:compare -- --count=instructions --callgrind-out=<dir>`), named down to the
 * JavaScript function. callgrind knows native symbols only; V8's generated code (JIT functions, and the builtins it
 * copies next to them) shows as bare addresses, which the perf map node writes with `--perf-basic-prof` names.
 * Prints self instructions by group (garbage collection, the compilers, builtins, our modules, each package, node's
 * own JavaScript), then by function, per request when `requests` is given. `--event` counts other events of a dump
 * taken with `--count=misses` instead, summed: `--event=ILmr+DLmr+DLmw` (misses past the L2), `--event=Bcm+Bim`.
 */
import { readFileSync } from 'node:fs';

const eventArg = process.argv.find((a) => a.startsWith('--event='))?.slice(8);
const [dumpFile, mapFile, requestsArg, topArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (dumpFile === undefined || mapFile === undefined) {
  console.error('usage: tsx bench/callgrind-js.ts <callgrind.out> <perf-PID.map> [requests] [top] [--event=A+B]');
  process.exit(2);
}
const requests = Number(requestsArg ?? 1);
const top = Number(topArg ?? 40);

interface Range {
  start: number;
  end: number;
  name: string;
}
// later entries win: V8 reuses addresses once code is collected
const ranges: Range[] = readFileSync(mapFile, 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => {
    const [start, size, ...name] = l.split(' ');
    const s = Number.parseInt(start!, 16);
    return { start: s, end: s + Number.parseInt(size!, 16), name: name.join(' ') };
  });
const byStart = ranges.map((r, i) => ({ ...r, i })).sort((a, b) => a.start - b.start || a.i - b.i);
function lookup(addr: number): string | undefined {
  let lo = 0;
  let hi = byStart.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (byStart[mid]!.start <= addr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // the newest entry covering addr among those starting at or before it
  let found: (Range & { i: number }) | undefined;
  for (let k = best; k >= 0 && k > best - 64; k--) {
    const r = byStart[k]!;
    if (addr < r.end && (found === undefined || r.i > found.i)) found = r;
  }
  return found?.name;
}

// self cost per function name: cost lines belong to the current fn=, except the one after calls= (inclusive)
const names = new Map<string, string>();
const self = new Map<string, number>();
/** what each function's calls cost, callees included: self + this = inclusive (recursion counts twice) */
const callees = new Map<string, number>();
let fn = '';
let skipNext = false;
let total = 0;
const nameOf = (spec: string): string => {
  const m = /^\((\d+)\)(?: (.*))?$/.exec(spec);
  if (!m) return spec;
  if (m[2] !== undefined) names.set(m[1]!, m[2]);
  return names.get(m[1]!) ?? spec;
};
/** positions of the counted events on a cost line (after the position column): Ir unless --event names others */
let columns = [1];
const eventNames = eventArg?.split('+') ?? ['Ir'];
for (const line of readFileSync(dumpFile, 'utf8').split('\n')) {
  if (line.startsWith('events:')) {
    const events = line.slice(7).trim().split(/\s+/);
    columns = eventNames.map((e) => {
      const i = events.indexOf(e);
      if (i < 0) throw new Error(`the dump has no event ${e} (it has ${events.join(' ')})`);
      return i + 1;
    });
  } else if (line.startsWith('fn=')) fn = nameOf(line.slice(3));
  else if (line.startsWith('cfn=')) nameOf(line.slice(4));
  else if (line.startsWith('calls=')) skipNext = true;
  else if (/^[+\-*\d]/.test(line)) {
    const parts = line.split(' ');
    const ir = columns.reduce((sum, c) => sum + Number(parts[c] ?? 0), 0);
    if (!Number.isFinite(ir)) continue;
    if (skipNext) {
      skipNext = false;
      callees.set(fn, (callees.get(fn) ?? 0) + ir);
      continue;
    }
    self.set(fn, (self.get(fn) ?? 0) + ir);
    total += ir;
  }
}

const fns = new Map<string, number>();
const inclusive = new Map<string, number>();
const groups = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
function groupOf(name: string): string {
  if (/Scaveng|IteratePointers|MarkCompact|Marking|Sweep|Heap::|Evacuat|ConcurrentMark|Remembered|Slot|GCTracer|PagedSpace|NewSpace/.test(name)) return '(gc)';
  if (/compiler::|Compiler|Maglev|turboshaft|Zone::|internal::(Pre)?Parser|internal::Scanner|Interpreter::|BytecodeGenerator|Builtin:CompileLazy/.test(name))
    return '(compilers, parser)';
  if (/Json(Parser|Stringifier)/.test(name)) return '(JSON)';
  if (name.startsWith('Builtins_') || name.startsWith('Builtin:')) return '(V8 builtins)';
  const js = /^JS:[~*^+]?\S* (.*):\d+:\d+$/.exec(name);
  if (js) {
    const url = js[1]!;
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) return url.slice(nm + 13).split('/')[0]!;
    if (url.startsWith('node:')) return 'node (JS)';
    const dist = url.indexOf('/dist/');
    if (dist >= 0) return url.slice(dist + 1);
    return url;
  }
  if (name.startsWith('JS:') || name.startsWith('RegExp:')) return '(other JS, regexps)';
  if (/libc\.so|malloc|free|memcpy|memmove|memset/.test(name)) return '(libc)';
  if (name.startsWith('v8::') || name.startsWith('node::') || name.startsWith('uv_') || name.startsWith('llhttp')) return '(V8 / node native)';
  return '(other native)';
}
const resolve = (name: string): string => {
  const hex = /^0x([0-9a-f]+)$/.exec(name);
  return hex ? (lookup(Number.parseInt(hex[1]!, 16)) ?? `(unmapped code) ${name}`) : name;
};
const shortName = (resolved: string): string => resolved.replace(/\(.*$/, (m) => (m.length > 60 ? '(…)' : m)).replace(/^JS:[~*^+]?/, '');
for (const [name, ir] of self) {
  const resolved = resolve(name);
  add(fns, shortName(resolved), ir);
  add(groups, groupOf(resolved), ir);
  // inclusive figures for JavaScript only: where native work (ICs, runtime calls, allocation) is caused
  if (/^JS:/.test(resolved)) add(inclusive, shortName(resolved), ir + (callees.get(name) ?? 0));
}
for (const [name, ir] of callees) {
  const resolved = resolve(name);
  if (/^JS:/.test(resolved) && !self.has(name)) add(inclusive, shortName(resolved), ir);
}
const fmt = (ir: number): string => `${(ir / requests / 1000).toFixed(eventArg === undefined ? 1 : 3).padStart(8)} k ${((100 * ir) / total).toFixed(1).padStart(5)}%`;
const counted = eventArg === undefined ? 'instructions' : eventNames.join(' + ');
console.log(`${(total / requests / 1000).toFixed(eventArg === undefined ? 0 : 2)} k ${counted}${requests > 1 ? ' per request' : ''} (self, all threads)`);
for (const [title, m, n] of [
  ['by group', groups, 30],
  ['by function', fns, top],
  ['JavaScript functions, inclusive (a caller and its callees both count)', inclusive, top],
] as const) {
  console.log(`\n== ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${fmt(v)}  ${k}`);
}
