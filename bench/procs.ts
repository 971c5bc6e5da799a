/** Processes of the benchmark: start them pinned to a core, wait until they answer, read their CPU time and RSS. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The gateway as `npm run build` makes it (dist/), the floor and the mock into bench-results/build. */
export function build(root: string, log: (msg: string) => void): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of ['tsconfig.build.json', join('bench', 'tsconfig.json')]) {
    log(`compiling: tsc -p ${project}`);
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, project)], { encoding: 'utf8' });
    if (r.status !== 0) log(`tsc reported errors (emitted anyway):\n${r.stdout.slice(0, 2000)}`);
  }
}

/** The node flags `npm start` runs the gateway in `dir` with (its package.json's start script): the bench measures what ships. */
export function startFlags(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  return nodeFlags((pkg.scripts?.start ?? '').split(/\s+/));
}

/** The flags of a `node <flags> <script>` command given as words; none if it does not run node. */
export function nodeFlags(command: readonly string[]): string[] {
  return command[0] === 'node' ? command.slice(1).filter((w) => w.startsWith('--')) : [];
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Pin this process (all its threads) to a core list such as "0" or "0-2". */
export function pinSelf(core: string): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { encoding: 'utf8' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  url: string;
  /** what it wrote (warnings, errors): shown when it dies */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  script: string;
  args?: string[];
  env: Record<string, string>;
  port: number;
  /** core list to pin to ("1", "0-2"), or undefined for no pinning */
  core: string | undefined;
  cwd: string;
  /** a GET path that answers 200 once the process is ready */
  readyPath: string;
  nodeArgs?: string[];
  /** a command node runs under (e.g. valgrind and its options), after the pinning */
  wrapper?: string[];
  /** how long to wait for readyPath (default 30 s) */
  readyTimeoutMs?: number;
}

export async function startProc(o: StartOptions): Promise<Proc> {
  const nodeArgv = [...(o.wrapper ?? []), process.execPath, ...(o.nodeArgs ?? []), o.script, ...(o.args ?? [])];
  const [cmd, argv] = o.core === undefined ? [nodeArgv[0]!, nodeArgv.slice(1)] : ['taskset', ['-c', String(o.core), ...nodeArgv]];
  const child = spawn(cmd, argv, { cwd: o.cwd, env: { PATH: process.env['PATH'] ?? '', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${o.port}`;
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${o.name} exited (${code}):\n${out}`))));
  exited.catch(() => undefined);
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  for (;;) {
    try {
      // reset: the probe's connection is closed after it, not kept alive to count as a client socket later
      const res = await Promise.race([request(`${url}${o.readyPath}`, { reset: true }), exited]);
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch (err) {
      if (child.exitCode !== null) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${o.name} did not become ready:\n${out}`);
    await sleep(100);
  }
  return {
    name: o.name,
    pid: child.pid!,
    child,
    url,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** utime + stime of a process, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** each thread's CPU time so far in nanoseconds, by thread id (the first field of /proc/<pid>/task/<tid>/schedstat) */
export type ThreadTimes = ReadonlyMap<number, number>;

export function threadTimes(pid: number): ThreadTimes {
  const times = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        times.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // no /proc here, or the process is gone: no threads
  }
  return times;
}

/**
 * The CPU a process spent between two readings, in ms, on its main thread (its id is the process id) and on its
 * other threads (V8's compiler and collector helpers, libuv's pool). Exact where utime + stime counts ticks; a thread
 * that started in between counts from zero, one that ended is not counted.
 */
export function threadCpuBetween(pid: number, before: ThreadTimes, after: ThreadTimes): { mainMs: number; otherMs: number } {
  let mainMs = 0;
  let otherMs = 0;
  for (const [tid, ns] of after) {
    const ms = (ns - (before.get(tid) ?? 0)) / 1e6;
    if (tid === pid) mainMs += ms;
    else otherMs += ms;
  }
  return { mainMs, otherMs };
}

/** the machine's CPU time so far from /proc/stat's first line, in ticks: all of it, and what the hypervisor took (steal) */
export interface MachineTicks {
  total: number;
  steal: number;
}

/** the aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal guest guest_nice */
export function machineTicksOf(procStat: string): MachineTicks {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return { total: NaN, steal: NaN };
  // guest and guest_nice are already counted in user and nice
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

export function machineTicks(): MachineTicks {
  try {
    return machineTicksOf(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return { total: NaN, steal: NaN };
  }
}

/** percent of all CPUs' time the hypervisor took between two readings (NaN where /proc/stat is not there) */
export function stealPercent(before: MachineTicks, after: MachineTicks): number {
  const total = after.total - before.total;
  return total > 0 ? (100 * (after.steal - before.steal)) / total : NaN;
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** resident set size, MB */
export function rssMb(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

/** peak resident set size since the last resetPeak (or since start), MB */
export function peakRssMb(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

/** Reset the kernel's peak-RSS mark (needs the rights to write clear_refs; false when that failed). */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS every few ms as a second source for the peak (clear_refs may be refused). */
export function rssSampler(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssMb(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process is gone
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Count the instructions a process retires until stop() (`perf stat -e instructions -p`). Resolves undefined where
 * perf is missing or the machine does not expose the counter.
 */
export function countInstructions(pid: number): { stop(): Promise<number | undefined> } {
  let child: ChildProcess | undefined;
  let err = '';
  try {
    child = spawn('perf', ['stat', '-x', ',', '-e', 'instructions', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.on('error', () => undefined);
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  } catch {
    child = undefined;
  }
  return {
    async stop() {
      if (!child || child.exitCode !== null || child.pid === undefined) return undefined;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGINT');
      await exited;
      const line = err.split('\n').find((l) => l.includes('instructions'));
      const n = Number(line?.split(',')[0]);
      return Number.isFinite(n) && n > 0 ? n : undefined;
    },
  };
}
