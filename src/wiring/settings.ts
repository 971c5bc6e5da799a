/**
 * What each part reads of the Config, in one place: a part gets the settings built here in its own terms, never
 * the Config, so it says what it depends on and its tests build just that.
 */
import type { Config } from '../config/config.js';
import type { EngineSettings } from '../core/engine.js';
import type { PluginSettings } from '../core/plugins.js';
import type { RequestLimits } from '../core/limits.js';
import type { StoredStateSettings } from '../frontends/responses/stored-state.js';
import type { ParseOptions } from '../frontends/validate.js';
import type { AppSettings } from '../http/app.js';
import type { OnDemandClientOptions } from '../upstream/client.js';

export function upstreamClientSettings(config: Config): OnDemandClientOptions {
  return {
    baseUrl: config.ONDEMAND_BASE_URL,
    userAgent: config.USER_AGENT,
    connectTimeoutMs: config.CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: config.FIRST_BYTE_TIMEOUT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
    connections: config.UPSTREAM_CONNECTIONS,
    ...(config.PLUGIN_TIMEOUT_MS > 0 ? { pluginTimeoutMs: config.PLUGIN_TIMEOUT_MS } : {}),
  };
}

export function healthCheckSettings(config: Config): { intervalSec: number; concurrency: number; probeTimeoutMs: number } {
  return {
    intervalSec: config.HEALTH_CHECK_INTERVAL,
    concurrency: config.HEALTH_CHECK_CONCURRENCY,
    probeTimeoutMs: Math.min(30_000, config.FIRST_BYTE_TIMEOUT_MS),
  };
}

/** undefined: SESSION_POOL_SIZE is 0, no session is created ahead of time */
export function sessionPoolSettings(config: Config): { size: number; ttlMs: number } | undefined {
  return config.SESSION_POOL_SIZE > 0 ? { size: config.SESSION_POOL_SIZE, ttlMs: config.SESSION_POOL_TTL_SEC * 1000 } : undefined;
}

export function engineSettings(config: Config): EngineSettings {
  return {
    maxAttempts: config.MAX_ATTEMPTS,
    retryDeadlineMs: config.RETRY_DEADLINE_MS,
    sameKey: { baseDelayMs: config.RETRY_BACKOFF_MS, maxDelayMs: Math.max(config.RETRY_BACKOFF_MS, config.RETRY_BACKOFF_MAX_MS), maxRetryAfterMs: config.ALL_KEYS_OUT_WAIT_MS },
    upstreamMaxTokens: config.UPSTREAM_MAX_TOKENS,
  };
}

export function pluginSettings(config: Config): PluginSettings {
  return { webSearchId: config.WEB_SEARCH_PLUGIN_ID, allowed: config.PLUGIN_IDS_ALLOWED, webSearchWhenOffered: config.WEB_SEARCH_WHEN_OFFERED };
}

/** A request without a model gets DEFAULT_MODEL, as in the original proxy, unless STRICT_MODELS asks for the 400. */
export function parseSettings(config: Config): ParseOptions {
  return config.STRICT_MODELS ? {} : { defaultModel: config.DEFAULT_MODEL };
}

export function runnerSettings(config: Config): { pingMs: number; limits: RequestLimits } {
  return { pingMs: config.KEEPALIVE_PING_MS, limits: { maxMessages: config.MAX_MESSAGES, maxMessageChars: config.MAX_MESSAGE_CHARS } };
}

export function storedStateSettings(config: Config): StoredStateSettings {
  return { enabled: config.RESPONSES_STORE, maxBytes: config.RESPONSES_MAX_BYTES, continueSessions: config.SESSION_CONTINUATION };
}

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
