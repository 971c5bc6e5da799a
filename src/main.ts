/** `npm start`: load the configuration (environment, then an optional .env file), start, drain on SIGTERM. */
// first: V8 settings that must be in place before the gateway's modules load (src/runtime/); those load in main(),
// since static imports would all be read and compiled before any of these settings ran
import './runtime/no-pretenuring.js';
import './runtime/heap-growth.js';
import './runtime/tier-up.js';
import { releaseYoungGeneration } from './runtime/young-generation.js';

async function main(): Promise<void> {
  await import('dotenv/config');
  const [{ ConfigError, loadConfig }, { startGateway }] = await Promise.all([import('./config/config.js'), import('./gateway.js')]);
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ondemand-gateway: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const gateway = await startGateway(config).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`ondemand-gateway: ${err.message}`);
    return process.exit(2);
  });
  const url = await gateway.listen();
  // the start is over: V8 sizes its young generation by the traffic from here on
  releaseYoungGeneration();
  gateway.app.log.info({ url, keys: gateway.pool.list().length }, 'ondemand-gateway listening');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down: draining requests in flight');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // also without CONFIG_FILE: SIGHUP's default action would kill the process
  process.on('SIGHUP', () => {
    if (gateway.configFile) gateway.configFile.reload('SIGHUP');
    else gateway.app.log.info('SIGHUP: no CONFIG_FILE is set, nothing to reload');
  });
}

main().catch((err: unknown) => {
  console.error('ondemand-gateway failed to start:', err);
  process.exit(1);
});
