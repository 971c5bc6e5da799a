/**
 * CLI: start the OnDemand simulator from the environment and print its URL.
 *   SIM_HOST (127.0.0.1), SIM_PORT (7861), SIM_KEYS (comma list; empty: any key), SIM_FIRST_BYTE_DELAY_MS,
 *   SIM_DELTA_INTERVAL_MS, SIM_DELTAS, SIM_SESSION_DELAY_MS, SIM_HEARTBEAT_MS
 * Steer it at run time through /__sim/* (stats, reset, keys/:key, all-keys, options).
 */
import { startSimulator, type SimulatorOptions } from './index.js';

function num(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`${name} must be a non-negative number, got "${raw}"`);
    process.exit(2);
  }
  return v;
}

const opts: SimulatorOptions = { host: process.env['SIM_HOST']?.trim() || '127.0.0.1', port: num('SIM_PORT') ?? 7861 };
const keys = (process.env['SIM_KEYS'] ?? '')
  .split(',')
  .map((k) => k.trim())
  .filter((k) => k.length > 0);
if (keys.length > 0) opts.keys = keys;
const numeric = {
  firstByteDelayMs: 'SIM_FIRST_BYTE_DELAY_MS',
  deltaIntervalMs: 'SIM_DELTA_INTERVAL_MS',
  deltas: 'SIM_DELTAS',
  sessionDelayMs: 'SIM_SESSION_DELAY_MS',
  heartbeatMs: 'SIM_HEARTBEAT_MS',
  pluginDelayMs: 'SIM_PLUGIN_DELAY_MS',
} as const;
for (const [opt, env] of Object.entries(numeric) as [keyof typeof numeric, string][]) {
  const v = num(env);
  if (v !== undefined) opts[opt] = v;
}

const sim = await startSimulator(opts);
console.log(`OnDemand simulator listening on ${sim.url}${keys.length > 0 ? ` (${keys.length} keys)` : ' (any apikey accepted)'}`);

let closing = false;
const shutdown = (signal: string): void => {
  if (closing) return;
  closing = true;
  console.log(`${signal}: closing the simulator`);
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
