/**
 * `npm run chaos [-- --seconds 180 --clients 200 --seed 7]`: the gateway under random key faults and 200
 * concurrent clients (see bench/chaos-run.ts for what is measured). Loopback only. Builds the gateway
 * (`npm run build`), starts it as its own process (`node dist/main.js`) so that its RSS is its own, prints
 * progress every 10 s and a JSON report; exits 1 when a target is missed (a malformed or hung answer, a
 * pre-first-byte failure while a key was healthy, anything stuck at the end).
 *
 *   --scenario random       (default) 2 anchor keys that never fail, 6 keys with a random fault (or none) each epoch
 *   --scenario anchor-timeouts  2 anchors that each time out one call every ~2 s, 8 keys that fail every call: most
 *                           keys really fail, the circuit may open, and the anchors must go on serving
 *   --max-attempts keys     (default) MAX_ATTEMPTS = number of keys: a request can always reach a healthy key
 *   --max-attempts default  the gateway's own default (3): pre-first-byte failures are expected and only reported
 *   --gateway inline        the old way: the gateway in this process, memory figures include the load generator
 *   --node-args "..."       node flags for the gateway process (e.g. "--max-semi-space-size=16")
 *   --no-build              use dist/ as it is
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-run.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    clients: { type: 'string', default: '200' },
    seed: { type: 'string', default: '7' },
    scenario: { type: 'string', default: 'random' },
    epoch: { type: 'string', default: '1000' },
    'max-attempts': { type: 'string', default: 'keys' },
    gateway: { type: 'string', default: 'process' },
    'node-args': { type: 'string', default: '' },
    'sample-ms': { type: 'string', default: '2000' },
    'no-build': { type: 'boolean', default: false },
  },
});

const seconds = Number(values.seconds);
const clients = Number(values.clients);
const mode = values.gateway;
const attempts = values['max-attempts'];
const scenario = values.scenario;
if (
  !(seconds > 0 && clients > 0) ||
  (mode !== 'process' && mode !== 'inline') ||
  !(attempts === 'keys' || attempts === 'default' || Number(attempts) > 0) ||
  (scenario !== 'random' && scenario !== 'anchor-timeouts')
) {
  console.error(
    'usage: npm run chaos -- [--seconds N] [--clients N] [--seed N] [--scenario random|anchor-timeouts] [--epoch ms] [--max-attempts keys|default|N] [--gateway process|inline] [--node-args "..."] [--no-build]',
  );
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (mode === 'process' && !values['no-build']) {
  console.log('chaos: npm run build');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  // type errors elsewhere in a tree being edited do not stop tsc's emit; a missing dist/main.js does
  if (r.status !== 0) console.log(`chaos: the build reported errors (emitted anyway):\n${(r.stdout + r.stderr).slice(-2000)}`);
  if (!existsSync(join(root, 'dist', 'main.js'))) {
    console.error('chaos: dist/main.js is missing after the build');
    process.exit(2);
  }
}

const load = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const loadBefore = load();
console.log(
  `chaos: ${clients} clients for ${seconds} s, scenario ${scenario}, faults change every ${values.epoch} ms (seed ${values.seed}), gateway ${mode === 'process' ? 'in its own process' : 'in this process'}, ` +
    `MAX_ATTEMPTS ${attempts}, load average ${loadBefore}`,
);
const env: Record<string, string> = attempts === 'keys' ? {} : attempts === 'default' ? { MAX_ATTEMPTS: '' } : { MAX_ATTEMPTS: attempts };
const nodeArgs = values['node-args'].split(/\s+/).filter((a) => a.length > 0);
const report = await runChaos({
  seconds,
  clients,
  seed: Number(values.seed),
  epochMs: Number(values.epoch),
  ...(scenario === 'anchor-timeouts' ? { faultyKeys: 8, faultMix: 'failing' as const, anchorTimeoutEveryMs: 2_000 } : {}),
  gateway: mode,
  gatewayNodeArgs: nodeArgs,
  sampleMs: Number(values['sample-ms']),
  env,
  log: (line) => console.log(line),
});
const loadAfter = load();
console.log(JSON.stringify({ ...report, loadAverage: { before: loadBefore, after: loadAfter } }, null, 2));
const m = report.memory;
console.log(
  `chaos: ${m.measured} RSS start ${m.rssStartMB} MB, after warm-up ${m.rssAfterWarmupMB} MB, end ${m.rssEndMB} MB, ` +
    `10 s idle ${m.rssAfterCooldownMB} MB, peak ${m.rssPeakMB} MB; second-half slope ${m.rssSlopeSecondHalfMBPerMin} MB/min ` +
    `; RSS peak first half ${m.rssPeakHalvesMB[0]} MB, second half ${m.rssPeakHalvesMB[1]} MB; ` +
    `heap after warm-up ${m.heapAfterWarmupMB} MB, end ${m.heapEndMB} MB, floor after major GCs ${m.heapFloorsMB.join(' ')} MB (slope ${m.heapFloorSlopeMBPerMin} MB/min)`,
);

const allKeys = report.maxAttempts >= report.keys.anchor + report.keys.faulty;
const misses: string[] = [];
if (report.malformed > 0) misses.push(`${report.malformed} malformed or hung answers`);
if (report.prebyte > 0 && allKeys) misses.push(`${report.prebyte} failures before the first byte while a key was healthy`);
if (!report.end.settled || report.end.gatewayInFlight > 0 || report.end.simOpenStreams > 0) misses.push('streams left open at the end');
if (report.end.gatewaySockets > 0) misses.push(`${report.end.gatewaySockets} sockets left open at the end`);
if (!allKeys) {
  console.log(
    `chaos: MAX_ATTEMPTS=${report.maxAttempts} < ${report.keys.anchor + report.keys.faulty} keys: ${report.prebyte} of ${report.ok + report.prebyte} ` +
      `requests failed before the first byte (${((100 * report.prebyte) / Math.max(1, report.ok + report.prebyte)).toFixed(2)} %), each with a shaped error`,
  );
}
console.log(misses.length === 0 ? 'chaos: every target met' : `chaos: targets missed: ${misses.join('; ')}`);
process.exit(misses.length === 0 ? 0 : 1);
