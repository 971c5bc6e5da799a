/** Fastify's default schema compilers, loaded by the first route that declares a schema; why, and the measurement: docs/performance.md, "Runtime tuning". */
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
