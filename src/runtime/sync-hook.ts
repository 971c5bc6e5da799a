/**
 * A fastify hook whose work is synchronous, registered in callback style: fastify then calls the next hook at once
 * instead of through a promise and a microtask per hook and request (the completion routes run several). A throw
 * goes to `done(err)`, which fastify handles exactly like a rejected async hook: the error handler answers.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export function syncHook(
  fn: (request: FastifyRequest, reply: FastifyReply) => void,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, reply, done) => {
    try {
      fn(request, reply);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };
}
