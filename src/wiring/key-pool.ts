/** The key pool as the gateway starts it: its settings and env keys from the config, then the store's keys merged in. */
import type { Config } from '../config/config.js';
import { DEFAULT_KEY_STATE_SETTINGS } from '../keypool/key-state.js';
import { KeyPool, type KeyPoolOptions } from '../keypool/pool.js';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from '../keypool/settings.js';

export type PoolConfig = Pick<Config, 'BAD_KEY_RETRY_INTERVAL' | 'RATE_LIMIT_COOLDOWN_SEC' | 'TRANSIENT_COOLDOWN_SEC' | 'ALL_KEYS_OUT_WAIT_MS'>;

export interface CreateKeyPoolOptions extends Omit<KeyPoolOptions, 'settings' | 'envKeys'> {
  config: PoolConfig & Pick<Config, 'ONDEMAND_APIKEYS'>;
}

export async function createKeyPool(opts: CreateKeyPoolOptions): Promise<KeyPool> {
  const { config, ...rest } = opts;
  const pool = new KeyPool({ ...rest, settings: poolSettingsFromConfig(config), envKeys: config.ONDEMAND_APIKEYS });
  await pool.restore();
  return pool;
}

export function poolSettingsFromConfig(cfg: PoolConfig): PoolSettings {
  return {
    ...DEFAULT_POOL_SETTINGS,
    keyState: {
      ...DEFAULT_KEY_STATE_SETTINGS,
      badKeyRetryIntervalMs: cfg.BAD_KEY_RETRY_INTERVAL * 1000,
      rateLimitCooldownMs: cfg.RATE_LIMIT_COOLDOWN_SEC * 1000,
      // A configured base above the default cap would otherwise be cut short by it.
      maxRateLimitCooldownMs: Math.max(DEFAULT_KEY_STATE_SETTINGS.maxRateLimitCooldownMs, cfg.RATE_LIMIT_COOLDOWN_SEC * 1000),
      transientCooldownMs: cfg.TRANSIENT_COOLDOWN_SEC * 1000,
    },
    allKeysOutWaitMs: cfg.ALL_KEYS_OUT_WAIT_MS,
  };
}
