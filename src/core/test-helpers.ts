/** Shared by tests: a promise's rejection, checked to be the GatewayError a client would get. */
import { expect } from 'vitest';
import { GatewayError } from './errors.js';

export async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}
