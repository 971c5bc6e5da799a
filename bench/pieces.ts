/**
 * `npm run bench:pieces [-- --rounds 15 --children 3]`: each piece of src/runtime/ against the plain alternative, in
 * one run (docs/performance.md, "Runtime tuning"). Ratios only: the machine is shared, so absolute figures move.
 *
 * CPU pieces run here, plain and tuned alternated over several rounds (the order flips each round), and report the
 * median of each and the median of the per-round ratios (range in brackets). Cost is CPU time (`process.cpuUsage`,
 * user + system), not wall time, so a descheduled slice does not count. Memory pieces start fresh child processes
 * of this same script (the same tsx loader on both sides), plain and tuned alternated, and read RSS and heapUsed
 * after a full GC: the median of `--children` each. No socket (fastify's inject), bounded,
 * exits by itself. idle-gc is not measured here: its figure is `npm run bench`'s "d. RSS 30 s after the load" row.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    children: { type: 'string', default: '3' },
    child: { type: 'string' },
  },
});

const maybeGc = (globalThis as { gc?: () => void }).gc;
if (maybeGc === undefined) {
  console.error('run with node --expose-gc (npm run bench:pieces)');
  process.exit(2);
}
const gc: () => void = maybeGc;
const MB = 1024 * 1024;
/** frames decoded ahead of one timed stretch: few enough to stay in V8's young generation */
/** what each batch computed, summed, so that no batch is optimised away */
let sink = 0;

// ---------------------------------------------------------------------------------------------------------------
// child processes: one import, a full GC, RSS and heapUsed on stdout

const CHILD_KINDS = ['fastify-plain', 'fastify-lazy', 'undici-full', 'undici-lean'] as const;
type ChildKind = (typeof CHILD_KINDS)[number];

interface Memory {
  rss: number;
  heapUsed: number;
}

async function runChild(kind: ChildKind): Promise<void> {
  const kept: unknown[] = [];
  if (kind === 'fastify-plain' || kind === 'fastify-lazy') {
    const { default: Fastify } = await import('fastify');
    // imported on both sides, so that both pay the same loader work; only one passes it to fastify
    const { lazySchemaController } = await import('../src/runtime/lazy-compilers.js');
    const app = Fastify(kind === 'fastify-lazy' ? { schemaController: lazySchemaController } : {});
    app.post('/v1/chat/completions', async (request) => request.body);
    await app.ready();
    kept.push(app);
  } else {
    // both import the lean module: the full package's Pool and errors are the very same files, already loaded
    kept.push(await import('../src/runtime/undici-lean.js'));
    if (kind === 'undici-full') kept.push(await import('undici'));
  }
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ rss, heapUsed, kept: kept.length } satisfies Memory & { kept: number })}\n`);
}

function spawnChild(kind: ChildKind): Memory {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', kind], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child ${kind} failed (${r.status ?? r.signal}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Memory;
}

// ---------------------------------------------------------------------------------------------------------------
// measuring

/** runs `n` operations; returns the CPU time they took, ns, when it measured it itself (to leave out its set-up) */
type Batch = (n: number) => number | undefined | Promise<void>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const cpuNs = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) * 1000;
};

/**
 * CPU time per operation, ns, after a full collection: the garbage of the batch before is not this one's to pay,
 * and a collection of its own (with its helper threads' CPU) is less likely to land in it.
 */
async function cpuPerOp(batch: Batch, n: number): Promise<number> {
  gc();
  const start = process.cpuUsage();
  const own = await batch(n);
  return (typeof own === 'number' ? own : cpuNs(start)) / n;
}

/** the number of operations that takes about `targetMs` of CPU, from the cheapest of three tries (after a warm-up) */
async function calibrate(batch: Batch, targetMs: number): Promise<number> {
  let n = 64;
  while ((await cpuPerOp(batch, n)) * n < 50e6 && n < 1 << 24) n *= 2;
  const tries = [await cpuPerOp(batch, n), await cpuPerOp(batch, n), await cpuPerOp(batch, n)];
  return Math.max(64, Math.round((targetMs * 1e6) / Math.min(...tries)));
}

interface Comparison {
  /** medians of each side, in the side's unit */
  plain: number;
  tuned: number;
  /** median of the per-round tuned / plain ratios, and their range */
  ratio: number;
  low: number;
  high: number;
  /** median of the per-round plain − tuned differences */
  saved: number;
}

function summarise(plain: number[], tuned: number[]): Comparison {
  const ratios = plain.map((p, i) => tuned[i]! / p);
  return {
    plain: median(plain),
    tuned: median(tuned),
    ratio: median(ratios),
    low: Math.min(...ratios),
    high: Math.max(...ratios),
    saved: median(plain.map((p, i) => p - tuned[i]!)),
  };
}

async function compareCpu(name: string, plain: Batch, tuned: Batch, rounds: number, targetMs = 60): Promise<Comparison> {
  const n = await calibrate(plain, targetMs);
  await calibrate(tuned, targetMs); // its warm-up
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      a.push(await cpuPerOp(plain, n));
      b.push(await cpuPerOp(tuned, n));
    } else {
      b.push(await cpuPerOp(tuned, n));
      a.push(await cpuPerOp(plain, n));
    }
  }
  const c = summarise(a, b);
  console.error(`  ${name}: ${n} ops per batch, ratio ${c.ratio.toFixed(3)} (${c.low.toFixed(3)}–${c.high.toFixed(3)})`);
  return c;
}

function compareMemory(name: string, plain: ChildKind, tuned: ChildKind, children: number): { rss: Comparison; heap: Comparison } {
  const a: Memory[] = [];
  const b: Memory[] = [];
  for (let i = 0; i < children; i++) {
    if (i % 2 === 0) {
      a.push(spawnChild(plain));
      b.push(spawnChild(tuned));
    } else {
      b.push(spawnChild(tuned));
      a.push(spawnChild(plain));
    }
  }
  const rss = summarise(
    a.map((m) => m.rss / MB),
    b.map((m) => m.rss / MB),
  );
  const heap = summarise(
    a.map((m) => m.heapUsed / MB),
    b.map((m) => m.heapUsed / MB),
  );
  // the ratio of the medians: the children are not paired
  rss.ratio = rss.tuned / rss.plain;
  heap.ratio = heap.tuned / heap.plain;
  rss.saved = rss.plain - rss.tuned;
  heap.saved = heap.plain - heap.tuned;
  console.error(`  ${name}: RSS ${a.map((m) => (m.rss / MB).toFixed(1)).join(' ')} vs ${b.map((m) => (m.rss / MB).toFixed(1)).join(' ')} MB`);
  return { rss, heap };
}

// ---------------------------------------------------------------------------------------------------------------
// the table

const ns = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const us = (x: number): string => (x / 1000).toFixed(2);
/** what the tuned side saves, or what it costs when that is negative */
const savesText = (saved: number, text: (x: number) => string): string => (saved >= 0 ? text(saved) : `costs ${text(-saved)}`);
const ratioText = (c: Comparison, range = true): string => `${c.ratio.toFixed(2)}x${range ? ` (${c.low.toFixed(2)}–${c.high.toFixed(2)})` : ''}`;

interface Row {
  piece: string;
  plain: string;
  tuned: string;
  ratio: string;
  saves: string;
}

function table(rows: Row[]): string {
  const head: Row = { piece: 'piece', plain: 'plain', tuned: 'tuned', ratio: 'ratio (tuned / plain)', saves: 'what it saves' };
  const keys = ['piece', 'plain', 'tuned', 'ratio', 'saves'] as const;
  const width = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  const line = (r: Row): string => `| ${keys.map((k, i) => r[k].padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  const children = Number(values.children);
  if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(children) && children > 0)) throw new Error('--rounds and --children: positive integers');
  const loadBefore = loadavg()[0]!;
  const started = performance.now();
  const rows: Row[] = [];

  // random-id: one pooled CSPRNG buffer against a randomBytes call per id
  const { randomToken } = await import('../src/runtime/random-id.js');
  for (const [bytes, encoding, use] of [
    [18, 'base64url', 'chatcmpl-, cmpl-'],
    [12, 'hex', 'msg_, tool calls'],
  ] as const) {
    const c = await compareCpu(
      `random-id ${bytes} B ${encoding}`,
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += randomBytes(bytes).toString(encoding).length;
        sink += s;
        return undefined;
      },
      (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += randomToken(bytes, encoding).length;
        sink += s;
        return undefined;
      },
      rounds,
      40,
    );
    rows.push({
      piece: `random-id: ${bytes} B ${encoding} (${use})`,
      plain: `randomBytes ${ns(c.plain)} ns/id`,
      tuned: `${ns(c.tuned)} ns/id`,
      ratio: ratioText(c),
      saves: savesText(c.saved, (x) => `${ns(x)} ns per id`),
    });
  }

  // sync-hook: four no-op hooks (the gateway's: onRequest ×2, preHandler, onResponse), callback style or async
  const { default: Fastify } = await import('fastify');
  const { syncHook } = await import('../src/runtime/sync-hook.js');
  const noop = (): void => undefined;
  const hooked = (style: 'sync' | 'async'): FastifyInstance => {
    const app = Fastify();
    if (style === 'sync') {
      app.addHook('onRequest', syncHook(noop));
      app.addHook('onRequest', syncHook(noop));
      app.addHook('preHandler', syncHook(noop));
      app.addHook('onResponse', syncHook(noop));
    } else {
      app.addHook('onRequest', async () => undefined);
      app.addHook('onRequest', async () => undefined);
      app.addHook('preHandler', async () => undefined);
      app.addHook('onResponse', async () => undefined);
    }
    app.post('/v1/chat/completions', async () => ({ id: 'chatcmpl-x', object: 'chat.completion' }));
    return app;
  };
  const asyncApp = hooked('async');
  const syncApp = hooked('sync');
  await Promise.all([asyncApp.ready(), syncApp.ready()]);
  const request = { method: 'POST', url: '/v1/chat/completions', payload: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } } as const;
  for (const app of [asyncApp, syncApp]) {
    const r = await app.inject(request);
    if (r.statusCode !== 200) throw new Error(`inject: ${r.statusCode} ${r.body}`);
  }
  const injectBatch =
    (app: FastifyInstance): Batch =>
    async (n) => {
      for (let done = 0; done < n; done += 32) {
        const k = Math.min(32, n - done);
        const answers = await Promise.all(Array.from({ length: k }, () => app.inject(request)));
        sink += answers.length;
      }
    };
  // the difference is a few per cent of a request: twice the rounds, longer batches
  const hooks = await compareCpu('sync-hook', injectBatch(asyncApp), injectBatch(syncApp), rounds * 2, 100);
  await Promise.all([asyncApp.close(), syncApp.close()]);
  rows.push({
    piece: 'sync-hook: 4 no-op hooks, app.inject',
    plain: `async hooks ${us(hooks.plain)} µs CPU/req`,
    tuned: `${us(hooks.tuned)} µs CPU/req`,
    ratio: ratioText(hooks),
    saves: savesText(hooks.saved, (x) => `${us(x)} µs CPU per request (${us(x / 4)} per hook)`),
  });

  // memory: fresh children
  for (const [piece, plain, tuned, plainName] of [
    ['lazy-compilers: fastify + an app, after gc', 'fastify-plain', 'fastify-lazy', 'default compilers'],
    ['undici-lean: import, after gc', 'undici-full', 'undici-lean', "import 'undici'"],
  ] as const) {
    const m = compareMemory(piece, plain, tuned, children);
    rows.push({
      piece: `${piece} (median of ${children} children)`,
      plain: `${plainName}: RSS ${m.rss.plain.toFixed(1)} MB, heap ${m.heap.plain.toFixed(1)} MB`,
      tuned: `RSS ${m.rss.tuned.toFixed(1)} MB, heap ${m.heap.tuned.toFixed(1)} MB`,
      ratio: `RSS ${ratioText(m.rss, false)}, heap ${ratioText(m.heap, false)}`,
      saves: `${savesText(m.rss.saved, (x) => `${x.toFixed(1)} MB`)} RSS, ${savesText(m.heap.saved, (x) => `${x.toFixed(1)} MB`)} heap`,
    });
  }

  rows.push({
    piece: 'idle-gc',
    plain: 'not measured here',
    tuned: '',
    ratio: '',
    saves: "`npm run bench`, row 'd. RSS 30 s after the load'",
  });

  const loadAfter = loadavg()[0]!;
  console.log(
    `node ${process.version}, ${rounds} rounds (plain and tuned alternated), ${children} children per memory side; ` +
      `load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log('ratio: median of the per-round ratios, range in brackets (memory: ratio of the medians); CPU time, not wall time\n');
  console.log(table(rows));
  if (sink === 0) console.log('(nothing computed?)');
}

if (values.child !== undefined) {
  const kind = values.child as ChildKind;
  if (!CHILD_KINDS.includes(kind)) throw new Error(`unknown child ${values.child}`);
  await runChild(kind);
} else {
  await main();
}
