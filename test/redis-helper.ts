/**
 * A real redis-server for tests: started on a free loopback port with persistence off, stopped (or killed, to
 * simulate an outage) and started again on the same port. Without the `redis-server` binary the tests that use
 * it fail with a message saying how to install it: they never skip silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface RedisServer {
  port: number;
  url: string;
  /** running now */
  readonly running: boolean;
  /** SIGKILL: the abrupt outage (no goodbye to the clients) */
  kill(): Promise<void>;
  /** a fresh, empty server on the same port (persistence is off) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function redisServerBinary(): string {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error !== undefined || found.status !== 0) {
    throw new Error(
      'redis-server is not installed: the shared-state tests need a real one. Install it with ' +
        '`apt-get install -y redis-server` (Debian/Ubuntu; .ci/run does this) or `brew install redis`.',
    );
  }
  return 'redis-server';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers PING. */
async function waitForPing(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before answering`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ port, host: '127.0.0.1' });
      let buf = '';
      sock.setTimeout(500, () => {
        sock.destroy();
        resolve(false);
      });
      sock.once('error', () => resolve(false));
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        if (buf.includes('PONG')) {
          sock.destroy();
          resolve(true);
        }
      });
      sock.once('connect', () => sock.write('PING\r\n'));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedis(): Promise<RedisServer> {
  const bin = redisServerBinary();
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const c = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    child = c;
    await waitForPing(port, c);
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      await launch();
    },
    stop: () => end('SIGTERM'),
  };
}
