/**
 * `npm run demo`: the built-in OnDemand simulator and the gateway in one process, so a newcomer can chat in a
 * minute without an OnDemand account. Prints the base URL, a key and a curl line.
 */
// first: V8 settings that must be in place before the gateway's modules load (src/runtime/); those load in main(),
// since static imports would all be read and compiled before any of these settings ran
import './runtime/no-pretenuring.js';
import './runtime/heap-growth.js';
import './runtime/tier-up.js';
import { releaseYoungGeneration } from './runtime/young-generation.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEMO_CLIENT_KEY = process.env.PRIVATE_KEY ?? 'demo-private-key';
const DEMO_UPSTREAM_KEYS = ['demo-ondemand-key-1', 'demo-ondemand-key-2', 'demo-ondemand-key-3'];

async function main(): Promise<void> {
  const [{ loadConfig }, { startGateway }, { startSimulator }] = await Promise.all([import('./config/config.js'), import('./gateway.js'), import('./simulator/index.js')]);
  const sim = await startSimulator({ keys: DEMO_UPSTREAM_KEYS, deltaIntervalMs: 30, firstByteDelayMs: 150 });
  const config = loadConfig({
    ...process.env,
    PRIVATE_KEY: DEMO_CLIENT_KEY,
    ONDEMAND_APIKEYS: DEMO_UPSTREAM_KEYS.join(','),
    ONDEMAND_BASE_URL: sim.url,
    DATA_DIR: process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'ondemand-gateway-demo-')),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const gateway = await startGateway(config);
  const url = await gateway.listen();
  // the start is over: V8 sizes its young generation by the traffic from here on
  releaseYoungGeneration();
  const line = '-'.repeat(72);
  console.log(`${line}
OnDemand gateway demo: the gateway in front of the built-in OnDemand simulator
  base URL : ${url}/v1
  API key  : ${DEMO_CLIENT_KEY}
  dashboard: ${url}/dashboard   (admin key: the same key)
  simulator: ${sim.url}   (answers "Hello from the OnDemand simulator ...")

Try it:
  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${DEMO_CLIENT_KEY}" -H "Content-Type: application/json" \\
    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}],"stream":true}'

Or point any OpenAI client at the base URL with the key above. Ctrl+C stops.
${line}`);
  const stop = (): void => {
    void gateway
      .close()
      .then(() => sim.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error('demo failed to start:', err);
  process.exit(1);
});
