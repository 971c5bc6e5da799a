/**
 * `npm run chaos [-- --seconds 180 --clients 200 --seed 7]`: the gateway under random key faults and 200
 * concurrent clients (see bench/chaos-run.ts for what is measured). Loopback only. Prints progress every 10 s and
 * a JSON report; exits 1 when a target is missed (a malformed or hung answer, a pre-first-byte failure while a
 * key was healthy, anything stuck at the end).
 */
import { parseArgs } from 'node:util';
import { runChaos } from './chaos-run.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    clients: { type: 'string', default: '200' },
    seed: { type: 'string', default: '7' },
    epoch: { type: 'string', default: '1000' },
  },
});

const seconds = Number(values.seconds);
const clients = Number(values.clients);
if (!(seconds > 0 && clients > 0)) {
  console.error('usage: npm run chaos -- [--seconds N] [--clients N] [--seed N] [--epoch ms]');
  process.exit(2);
}

console.log(`chaos: ${clients} clients for ${seconds} s, faults change every ${values.epoch} ms (seed ${values.seed})`);
const report = await runChaos({
  seconds,
  clients,
  seed: Number(values.seed),
  epochMs: Number(values.epoch),
  log: (line) => console.log(line),
});
console.log(JSON.stringify(report, null, 2));

const misses: string[] = [];
if (report.malformed > 0) misses.push(`${report.malformed} malformed or hung answers`);
if (report.prebyte > 0) misses.push(`${report.prebyte} failures before the first byte while a key was healthy`);
if (!report.end.settled || report.end.gatewayInFlight > 0 || report.end.simOpenStreams > 0) misses.push('streams left open at the end');
if (report.end.gatewaySockets > 0) misses.push(`${report.end.gatewaySockets} sockets left open at the end`);
console.log(misses.length === 0 ? 'chaos: every target met' : `chaos: targets missed: ${misses.join('; ')}`);
process.exit(misses.length === 0 ? 0 : 1);
