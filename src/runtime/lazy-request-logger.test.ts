import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from './lazy-request-logger.js';

/** A fastify app logging to memory, with or without the lazy child logger. */
async function run(lazy: boolean, level: string, routeLevel?: 'debug'): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({ logger: { level, stream }, logController: new LogController({ disableRequestLogging: true }), ...(lazy ? { childLoggerFactory: lazyChildLogger } : {}) });
  app.get('/', { ...(routeLevel ? { logLevel: routeLevel } : {}) }, async (request) => {
    request.log.debug({ n: 1 }, 'debug line');
    request.log.warn({ n: 2 }, 'warn line');
    request.log.child({ extra: true }).error('from a grandchild');
    return 'ok';
  });
  await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return lines.map(({ time: _t, pid: _p, hostname: _h, ...rest }) => rest);
}

describe('lazyChildLogger', () => {
  it.each([
    ['warn', undefined],
    ['debug', undefined],
    ['warn', 'debug' as const],
    ['silent', undefined],
  ])('writes what the eager child writes (level %s, route level %s)', async (level, routeLevel) => {
    const eager = await run(false, level, routeLevel);
    const lazy = await run(true, level, routeLevel);
    expect(lazy).toEqual(eager);
    expect(eager.length).toBe(level === 'silent' ? 0 : (routeLevel ?? level) === 'debug' ? 3 : 2);
    if (eager.length > 0) expect(eager[0]).toMatchObject({ reqId: 'req-1' });
  });

  it('builds no child for a request that logs nothing at an enabled level', async () => {
    const app = Fastify({ logger: { level: 'warn' }, childLoggerFactory: lazyChildLogger });
    let made = 0;
    const child = app.log.child.bind(app.log);
    app.log.child = ((...args: Parameters<typeof child>) => {
      made++;
      return child(...args);
    }) as typeof app.log.child;
    app.get('/', async (request) => {
      request.log.info('not at warn');
      return 'ok';
    });
    await app.inject({ method: 'GET', url: '/' });
    await app.close();
    expect(made).toBe(0);
  });
});
