/**
 * Wires the model features together for the composition root (src/gateway.ts): the live catalogue router, the
 * planner (auto routing, fallback chains, per-model settings) and the media preparer the engine calls.
 */
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { createModelSettings, parseModelSettings, type ModelSetting, type ModelSettings } from '../core/model-settings.js';
import type { SessionPrepare } from '../core/engine.js';
import { createModelPlanner, type ModelPlanner } from '../core/model-plan.js';
import type { GatewayRequest } from '../core/types.js';
import type { KeyPool } from '../keypool/pool.js';
import { createLiveModelRouter, startCatalogueLoader, usableKeys, type CatalogueLoader, type LiveModelRouter } from '../upstream/catalogue.js';
import type { OnDemandClient } from '../upstream/client.js';
import { createMediaPreparer } from '../core/media.js';
import { mediaUploader } from '../upstream/media-upload.js';

type Log = { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };

export interface ModelLayer {
  router: LiveModelRouter;
  planner: ModelPlanner;
  prepareSession: (req: GatewayRequest) => SessionPrepare | undefined;
  /** reads the catalogue once (bounded wait) and starts the periodic refresh; never throws */
  start(log: Log): Promise<void>;
  /** read the catalogue now (tests, operators) */
  refreshCatalogue(): Promise<boolean>;
  /** the config file's `models` section, validated; throws an Error naming the bad path (the old one stays) */
  setFileSettings(section: unknown): void;
  stop(): void;
}

/** AUTO_MODEL_NAME values that turn automatic routing off. */
const AUTO_OFF = new Set(['off', 'none', 'false', '0']);

/** The settings the model layer reads: routing, fallbacks, per-model settings, media, the catalogue's refresh. */
export type ModelLayerConfig = Pick<
  Config,
  | 'AUTO_MODEL_NAME'
  | 'DEFAULT_MODEL'
  | 'MODEL_MAP'
  | 'STRICT_MODELS'
  | 'MODEL_SETTINGS'
  | 'MODEL_FALLBACKS'
  | 'AUTO_ROUTES'
  | 'MEDIA_MAX_BYTES'
  | 'MEDIA_ALLOWED_TYPES'
  | 'CATALOGUE_REFRESH_SEC'
  | 'FIRST_BYTE_TIMEOUT_MS'
>;

export function createModelLayer(
  config: ModelLayerConfig,
  deps: { client: OnDemandClient; pool: Pick<KeyPool, 'list'>; knownKeys: () => string[]; fileModels?: unknown },
): ModelLayer {
  const autoName = AUTO_OFF.has(config.AUTO_MODEL_NAME.toLowerCase()) ? '' : config.AUTO_MODEL_NAME;
  const router = createLiveModelRouter({
    defaultModel: config.DEFAULT_MODEL,
    modelMap: config.MODEL_MAP,
    strict: config.STRICT_MODELS,
    virtualModels: autoName === '' ? [] : [{ id: autoName, endpointId: 'auto', name: 'Automatic routing (docs/models.md)' }],
  });
  let fileSettings: Record<string, ModelSetting> = {};
  let settings: ModelSettings = createModelSettings(config.MODEL_SETTINGS);
  const setFileSettings = (section: unknown): void => {
    fileSettings = parseModelSettings(section);
    settings = createModelSettings(config.MODEL_SETTINGS, fileSettings);
  };
  if (deps.fileModels !== undefined) {
    try {
      setFileSettings(deps.fileModels);
    } catch (err) {
      throw new ConfigError(`CONFIG_FILE models: ${(err as Error).message}`);
    }
  }
  const planner = createModelPlanner({
    router,
    defaultModel: config.DEFAULT_MODEL,
    fallbacks: config.MODEL_FALLBACKS,
    autoModelName: autoName,
    autoRules: config.AUTO_ROUTES,
    settings: () => settings,
    isInactive: (endpointId) => router.isInactive(endpointId),
  });
  const prepareSession = createMediaPreparer(mediaUploader(deps.client), { maxBytes: config.MEDIA_MAX_BYTES, allowedTypes: config.MEDIA_ALLOWED_TYPES });
  let loader: CatalogueLoader | undefined;

  return {
    router,
    planner,
    prepareSession,
    async start(log) {
      loader = startCatalogueLoader({
        router,
        client: deps.client,
        keys: () => usableKeys(deps.pool, deps.knownKeys()),
        refreshSec: config.CATALOGUE_REFRESH_SEC,
        timeoutMs: Math.min(5_000, config.FIRST_BYTE_TIMEOUT_MS),
        log,
      });
      await loader.refresh();
    },
    refreshCatalogue: () => loader?.refresh() ?? Promise.resolve(false),
    setFileSettings,
    stop() {
      loader?.stop();
    },
  };
}
