/**
 * What a CONFIG_FILE reload changes, part by part: the file source only reads and announces a new file; here each
 * part that keeps settings in it takes its share. Registered in this order, so the keys are swapped before the
 * client-key registry and the model settings follow.
 */
import type { Config } from '../config/config.js';
import type { ConfigFileSource, ConfigLog } from '../config/file.js';
import type { KeyChecker } from '../http/auth.js';
import type { ClientAccess } from '../client-keys/access.js';
import type { KeyPool } from '../keypool/pool.js';

export interface ReloadTargets {
  config: Pick<Config, 'CLIENT_KEYS' | 'CONFIG_POLL_MS'>;
  pool: Pick<KeyPool, 'replaceSource' | 'list'>;
  clientKeys: KeyChecker;
  /** set when ADMIN_KEY is unset: the admin key then follows the client keys */
  adminKeys: KeyChecker | undefined;
  access: Pick<ClientAccess, 'registry'>;
  models: { setFileSettings(section: unknown): void };
  log: ConfigLog;
}

export function applyConfigReloads(file: ConfigFileSource, t: ReloadTargets): void {
  file.onReload((next, source) => {
    const keys = source.clientKeys(next);
    t.clientKeys.setKeys(keys);
    t.adminKeys?.setKeys(keys);
  });
  file.onReload((next, source) => {
    const before = new Set(t.pool.list().map((k) => k.fingerprint));
    t.pool.replaceSource('file', source.upstreamKeys(next));
    const after = t.pool.list().map((k) => k.fingerprint);
    return {
      upstreamKeys: after.length,
      added: after.filter((fp) => !before.has(fp)).length,
      removed: [...before].filter((fp) => !after.includes(fp)).length,
    };
  });
  file.onReload((next) => t.access.registry.setConfigured([...t.config.CLIENT_KEYS, ...(next.clientKeys ?? [])]));
  file.onReload((next) => t.models.setFileSettings(next['models']));
  if (t.pool.list().length === 0) {
    t.log.warn({ configFile: file.path }, 'no upstream keys: ONDEMAND_APIKEYS is empty and CONFIG_FILE lists no ondemandKeys; add some to the file or through the admin API');
  }
  file.watch(t.log, { pollMs: t.config.CONFIG_POLL_MS });
}
