/**
 * Fastify's schema compilers (ajv + ajv-formats, fast-json-stringify: several MB of RSS) are required when the
 * first route with a JSON schema is compiled instead of at start. The gateway's routes validate with zod and
 * declare no fastify schema, so by default they are never loaded (idle RSS: docs/performance.md). A route that does declare
 * one gets the same default compilers fastify would have used.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type Factory = (...args: unknown[]) => unknown;

// resolved from fastify's own location, as fastify itself would
const require = createRequire(createRequire(import.meta.url).resolve('fastify'));
let validator: Factory | undefined;
let serializer: Factory | undefined;

export const lazySchemaController = {
  compilersFactory: {
    buildValidator: (...args: unknown[]): unknown => {
      validator ??= (require('@fastify/ajv-compiler') as () => Factory)();
      return validator(...args);
    },
    buildSerializer: (...args: unknown[]): unknown => {
      serializer ??= (require('@fastify/fast-json-stringify-compiler') as () => Factory)();
      return serializer(...args);
    },
  },
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;
