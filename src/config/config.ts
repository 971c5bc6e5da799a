/**
 * Configuration: read once from the environment (and an optional .env file), validated with zod, frozen.
 * A wrong or missing setting stops the start with a message naming it. Every setting is in the README table.
 */
import { parseJsonText } from '../core/json-text.js';
import { z } from 'zod';
import { clientKeysEnv } from '../client-keys/keys.js';
import { parseAutoRoutes } from '../core/auto-route.js';
import { parseFallbacks } from '../core/model-plan.js';
import { INTERNET_SEARCH_PLUGIN, WEB_SEARCH_WHEN_OFFERED_VALUES, type WebSearchWhenOffered } from '../core/plugins.js';
import { DEFAULT_MEDIA_TYPES } from '../ondemand/media.js';
import { jsonSetting, modelSettingsEnv } from './models-env.js';
import { parseTrustedProxies } from '../core/trusted-proxies.js';
import { DEFAULT_SERVICE_NAME, otlpEndpointEnv, otlpProtocolEnv, SAMPLERS, traceExportersEnv } from './tracing-env.js';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .transform((v, ctx) => {
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
    return z.NEVER;
  });

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** "a,b", "a\nb" or a JSON array of strings; blanks and duplicates dropped, order kept. */
export function parseList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const text = raw.trim();
  let items: string[];
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
      throw new Error('expected a JSON array of strings');
    }
    items = parsed;
  } else {
    items = text.split(/[,\n\r]+/);
  }
  return [...new Set(items.map((s) => s.trim()).filter((s) => s.length > 0))];
}

const list = z.string().transform((v, ctx) => {
  try {
    return parseList(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const modelMap = jsonSetting((raw): Record<string, string> => {
  const parsed = parseJsonText(raw);
  if (parsed === undefined) return {};
  const result = z.record(z.string(), z.string().min(1)).safeParse(parsed);
  if (!result.success) throw new Error('expected a JSON object of alias -> endpointId strings');
  return result.data;
});

const url = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^/\s]+\/?$/.test(v), 'expected an origin such as https://api.on-demand.io')
  .transform((v) => v.replace(/\/$/, ''));

export const envSchema = z.object({
  PORT: int(0, 65535).default(7860),
  HOST: z.string().min(1).default('0.0.0.0'),
  PRIVATE_KEY: list.default([]),
  ALLOW_NO_AUTH: bool.default(false),
  ADMIN_KEY: list.default([]),
  PUBLIC_PATHS: list.default([]),
  ONDEMAND_APIKEYS: list.default([]),
  ONDEMAND_BASE_URL: url.default('https://api.on-demand.io'),
  USER_AGENT: z.string().min(1).default('ondemand-gateway/0.1 (+OpenAI-compatible proxy)'),
  DEFAULT_MODEL: z.string().trim().min(1).default('gpt-4o'),
  MODEL_MAP: modelMap.default({}),
  STRICT_MODELS: bool.default(false),
  // models and media (src/upstream/catalogue.ts, src/core/model-plan.ts, src/core/auto-route.ts, src/ondemand/media.ts)
  CATALOGUE_REFRESH_SEC: int(0, 86_400 * 7).default(3600),
  MODEL_FALLBACKS: jsonSetting(parseFallbacks).default({}),
  AUTO_MODEL_NAME: z.string().trim().min(1).default('auto'),
  AUTO_ROUTES: jsonSetting(parseAutoRoutes).default(() => parseAutoRoutes('')),
  MODEL_SETTINGS: modelSettingsEnv.default({}),
  MEDIA_MAX_BYTES: int(1, 512 * 1024 * 1024).default(20 * 1024 * 1024),
  MEDIA_ALLOWED_TYPES: list.default([...DEFAULT_MEDIA_TYPES]),
  // plugins (src/core/plugins.ts, docs/plugins.md): the web search switches' plugin, the ids requests may name, the floor of a plugin run's timeouts
  WEB_SEARCH_PLUGIN_ID: z
    .string()
    .trim()
    .regex(/^(?:plugin|agent)-[A-Za-z0-9_-]{1,100}$/, 'expected an OnDemand plugin id such as plugin-1713924030')
    .default(INTERNET_SEARCH_PLUGIN),
  PLUGIN_IDS_ALLOWED: list.default([]),
  PLUGIN_TIMEOUT_MS: int(0, 3_600_000).default(180_000),
  WEB_SEARCH_WHEN_OFFERED: z.enum(WEB_SEARCH_WHEN_OFFERED_VALUES as [WebSearchWhenOffered, ...WebSearchWhenOffered[]]).default('user_turn'),
  // seals the reasoning clients send back (src/core/sealed-reasoning.ts); unset: derived from the upstream keys
  REASONING_SECRET: z.string().min(16, 'expected at least 16 characters').optional(),
  CONNECT_TIMEOUT_MS: int(100, 600_000).default(10_000),
  FIRST_BYTE_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
  IDLE_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
  BODY_LIMIT_BYTES: int(1024, 512 * 1024 * 1024).default(20 * 1024 * 1024),
  // limits and security (src/http/server-limits.ts, src/http/security.ts)
  MAX_MESSAGES: int(1, 1_000_000).default(2048),
  MAX_MESSAGE_CHARS: int(1, 512 * 1024 * 1024).default(1_000_000),
  MAX_HEADER_BYTES: int(1024, 1024 * 1024).default(16 * 1024),
  HEADERS_TIMEOUT_MS: int(100, 300_000).default(30_000),
  REQUEST_TIMEOUT_MS: int(0, 3_600_000).default(120_000),
  // after a 413 or 431 the rest of the request is read and dropped (never kept), so clients that write it all before reading see the error; 0 = close at once
  DRAIN_MAX_BYTES: int(0, 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  DRAIN_MAX_MS: int(0, 600_000).default(10_000),
  MAX_STREAMS_PER_CLIENT: int(0, 1_000_000).default(256),
  CORS_ORIGINS: list.default([]),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // key pool (src/keypool)
  MAX_ATTEMPTS: int(1, 20).default(3),
  RETRY_DEADLINE_MS: int(100, 3_600_000).default(60_000),
  // same-key retries once no other key can take the request: the first wait, doubled each time, with jitter
  RETRY_BACKOFF_MS: int(0, 60_000).default(200),
  RETRY_BACKOFF_MAX_MS: int(0, 60_000).default(2_000),
  BAD_KEY_RETRY_INTERVAL: int(1, 86_400 * 7).default(600),
  RATE_LIMIT_COOLDOWN_SEC: int(1, 86_400).default(60),
  TRANSIENT_COOLDOWN_SEC: int(1, 86_400).default(15),
  HEALTH_CHECK_INTERVAL: int(0, 86_400 * 7).default(300),
  HEALTH_CHECK_CONCURRENCY: int(1, 64).default(4),
  ALL_KEYS_OUT_WAIT_MS: int(0, 60_000).default(2_000),
  DATA_DIR: z.string().min(1).optional(),
  CONFIG_FILE: z.string().min(1).optional(),
  CONFIG_POLL_MS: int(0, 3_600_000).default(5_000),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
  KEEPALIVE_PING_MS: int(0, 600_000).default(15_000),
  IDLE_GC_SEC: int(0, 3600).default(15),
  SESSION_POOL_SIZE: int(0, 64).default(2),
  SESSION_POOL_TTL_SEC: int(1, 86_400).default(300),
  UPSTREAM_CONNECTIONS: int(0, 1_000_000).default(0),
  // max_tokens is enforced by the gateway; OnDemand does not document modelConfigs.maxTokens, so it is sent only on request
  UPSTREAM_MAX_TOKENS: bool.default(false),
  // stored responses and conversations (src/frontends/responses/stored-state.ts), and OnDemand session continuation
  RESPONSES_STORE: bool.default(true),
  RESPONSES_RETENTION_DAYS: int(0, 3650).default(30),
  RESPONSES_MAX_BYTES: int(1024, 512 * 1024 * 1024).default(4 * 1024 * 1024),
  SESSION_CONTINUATION: bool.default(false),
  // observability (src/observability, src/dashboard)
  METRICS_PUBLIC: bool.default(false),
  DASHBOARD: bool.default(true),
  USAGE_RETENTION_DAYS: int(0, 3650).default(90),
  // OpenTelemetry tracing, off unless these name an exporter (src/config/tracing-env.ts, docs/tracing.md)
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_TRACES_EXPORTER: traceExportersEnv.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpointEnv.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpEndpointEnv.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocolEnv.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocolEnv.optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default(DEFAULT_SERVICE_NAME),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(0, 3_600_000).optional(),
  OTEL_BSP_EXPORT_TIMEOUT: int(0, 3_600_000).optional(),
  OTEL_BSP_MAX_QUEUE_SIZE: int(1, 1_000_000).optional(),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(1, 1_000_000).optional(),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: int(1, 1024 * 1024 * 1024).optional(),
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: bool.default(false),
  // shared state for several replicas (src/wiring/state.ts) and named client keys (src/client-keys/)
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, 'expected redis://[user:password@]host:port[/db] or rediss://…')
    .optional(),
  REDIS_PREFIX: z.string().trim().min(1).max(64).default('odgw:'),
  REDIS_TIMEOUT_MS: int(10, 60_000).default(200),
  CLIENT_KEYS: clientKeysEnv.default([]),
  // key guessing slowed (src/core/auth-throttle.ts): failures counted per client address
  AUTH_FAILURE_LIMIT: int(0, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SEC: int(1, 86_400).default(600),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseTrustedProxies(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    }),
});

export type Env = z.infer<typeof envSchema>;

export type Config = Readonly<Env>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validate an environment; throws ConfigError naming every wrong setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && !(v.trim() === '' && key !== 'PRIVATE_KEY')) input[key] = v;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  // with CONFIG_FILE the client keys may come from the file alone; src/config/file.ts checks at start
  if (cfg.PRIVATE_KEY.length === 0 && !cfg.ALLOW_NO_AUTH && cfg.CONFIG_FILE === undefined && cfg.CLIENT_KEYS.length === 0) {
    throw new ConfigError(
      'PRIVATE_KEY is not set: set it to the key clients must send (X-API-KEY or Authorization: Bearer), ' + 'or set ALLOW_NO_AUTH=true to run an open gateway (not recommended)',
    );
  }
  if (cfg.ONDEMAND_APIKEYS.length === 0 && cfg.CONFIG_FILE === undefined) {
    throw new ConfigError('ONDEMAND_APIKEYS is not set: give at least one OnDemand API key (comma- or newline-separated, or a JSON array)');
  }
  return Object.freeze(cfg);
}
