/**
 * What each part reads of the Config, in one place: a part gets the settings built here in its own terms, never
 * the Config, so it says what it depends on and its tests build just that.
 */
import type { Config } from '../config/config.js';
import type { AppSettings } from '../http/app.js';

export function appSettings(config: Config): AppSettings {
  return {
    logLevel: config.LOG_LEVEL,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    trustedProxies: config.TRUSTED_PROXIES,
    publicPaths: config.PUBLIC_PATHS,
    metricsPublic: config.METRICS_PUBLIC,
    allowNoAuth: config.ALLOW_NO_AUTH,
    corsOrigins: config.CORS_ORIGINS,
    limits: {
      maxHeaderBytes: config.MAX_HEADER_BYTES,
      headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
      maxStreamsPerClient: config.MAX_STREAMS_PER_CLIENT,
      drain: { maxBytes: config.DRAIN_MAX_BYTES, maxMs: config.DRAIN_MAX_MS },
    },
  };
}
