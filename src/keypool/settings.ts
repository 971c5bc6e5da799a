/** The pool's tuning in one value, built from the validated config; the constants here are the defaults. */
import type { Config } from '../config/config.js';
import { DEFAULT_CIRCUIT_SETTINGS, type CircuitSettings } from './circuit.js';
import { DEFAULT_KEY_STATE_SETTINGS, type KeyStateSettings } from './key-state.js';

export interface PoolSettings {
  keyState: KeyStateSettings;
  circuit: CircuitSettings;
  /** when every key is out but one is due back within this, acquire() waits instead of failing */
  allKeysOutWaitMs: number;
  /** a key on probation gets this fraction of its weight */
  probationShare: number;
  /** how often dirty key state is written to the store (never on the request path) */
  flushIntervalMs: number;
}

export type PoolConfig = Pick<
  Config,
  'BAD_KEY_RETRY_INTERVAL' | 'RATE_LIMIT_COOLDOWN_SEC' | 'TRANSIENT_COOLDOWN_SEC' | 'ALL_KEYS_OUT_WAIT_MS'
>;

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  keyState: DEFAULT_KEY_STATE_SETTINGS,
  circuit: DEFAULT_CIRCUIT_SETTINGS,
  allKeysOutWaitMs: 2_000,
  probationShare: 0.25,
  flushIntervalMs: 1_000,
};

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
