/** A synchronous fastify hook registered callback-style, without a promise per hook; why, and the measurement: docs/performance.md, "Runtime tuning". */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export function syncHook(fn: (request: FastifyRequest, reply: FastifyReply) => void): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, reply, done) => {
    try {
      fn(request, reply);
    } catch (err) {
      // fastify handles done(err) exactly like a rejected async hook: the error handler answers
      done(err as Error);
      return;
    }
    done();
  };
}
