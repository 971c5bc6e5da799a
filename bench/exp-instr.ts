// temporary experiment: instructions per request of one proxy under a closed loop of 64
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { request } from 'undici';
import { UPSTREAM_KEYS, CLIENT_KEY, chatBody, chatHeaders } from './load.js';
import { startProc, freePort, pinSelf, cpuMs, sleep } from './procs.js';
const root = process.cwd();
pinSelf(1);
const simPort = await freePort();
const sim = await startProc({ name: 'sim', script: join(root, 'dist/simulator/main.js'), env: { SIM_PORT: String(simPort), SIM_KEYS: UPSTREAM_KEYS.join(',') }, port: simPort, core: 1, cwd: '/tmp', readyPath: '/__sim/options' });
await (await request(`${sim.url}/__sim/options`, { method: 'POST', body: JSON.stringify({ firstByteDelayMs: 20, deltas: 16, deltaIntervalMs: 0, sessionDelayMs: 0 }), headers: { 'content-type': 'application/json' } })).body.text();
const port = await freePort();
const extra = JSON.parse(process.env['EXTRA_ENV'] ?? '{}') as Record<string, string>;
const which = process.env['WHICH'] ?? 'gateway';
const proc = which === 'baseline'
  ? await startProc({ name: 'baseline', script: join(root, 'bench-results/build/bench/baseline.js'), env: { BASE_PORT: String(port), UPSTREAM_URL: sim.url, UPSTREAM_KEYS: UPSTREAM_KEYS.join(','), CLIENT_KEY }, port, core: 0, cwd: '/tmp', readyPath: '/' })
  : await startProc({ name: 'gateway', script: join(root, 'dist/main.js'), env: { PRIVATE_KEY: CLIENT_KEY, ONDEMAND_APIKEYS: UPSTREAM_KEYS.join(','), ONDEMAND_BASE_URL: sim.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: mkdtempSync('/tmp/gwd-'), HEALTH_CHECK_INTERVAL: '0', MAX_STREAMS_PER_CLIENT: '0', ...extra }, port, core: 0, cwd: '/tmp', readyPath: '/healthz', nodeArgs: (process.env['NARGS'] ?? '').split(' ').filter(Boolean) });
const opts = { url: `${proc.url}/v1/chat/completions`, method: 'POST' as const, headers: chatHeaders, body: chatBody(false), connections: 64 };
await autocannon({ ...opts, duration: 3 });
const perf = spawn('perf', process.env['RECORD'] ? ['record', '-F', '4000', '-o', '/tmp/exp/perf.data', '-p', String(proc.pid)] : ['stat', '-x', ',', '-e', 'instructions', '-p', String(proc.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
perf.stderr.on('data', (b: Buffer) => (err += b.toString()));
await sleep(200);
const c0 = cpuMs(proc.pid);
const r = await autocannon({ ...opts, duration: Number(process.env['SEC'] ?? 8) });
const cpu = cpuMs(proc.pid) - c0;
perf.kill('SIGINT');
await new Promise((res) => perf.once('exit', res));
const instr = Number(err.split('\n').find((l) => l.includes('instructions'))?.split(',')[0]);
console.log(`${which} ${process.env['EXTRA_ENV'] ?? ''}: ${r['2xx']} ok, ${(r['2xx'] / Number(process.env['SEC'] ?? 8)).toFixed(0)} rps, cpu ${(cpu / r['2xx']).toFixed(3)} ms/req, ${(instr / r['2xx'] / 1000).toFixed(0)} k instr/req`);
await proc.stop(); await sim.stop();
