/** The pool's tuning in one value (src/wiring/key-pool.ts builds it from the config); the constants here are the defaults. */
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

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  keyState: DEFAULT_KEY_STATE_SETTINGS,
  circuit: DEFAULT_CIRCUIT_SETTINGS,
  allKeysOutWaitMs: 2_000,
  probationShare: 0.25,
  flushIntervalMs: 1_000,
};
