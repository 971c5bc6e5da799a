/**
 * Where the gateway keeps its state. The directory holds secrets (admin-added upstream keys), so it is created
 * private (0700) and the database file is made 0600.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** A Hugging Face Space with persistent storage mounts it here. */
export const PERSISTENT_MOUNT = '/data';

/**
 * DATA_DIR when set (created if missing); else `/data` when it exists and is writable; else `./data`, created.
 * Returns an absolute path.
 */
export function resolveDataDir(configured?: string, opts: { mount?: string; cwd?: string } = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  if (configured !== undefined && configured.trim() !== '') return ensureDir(path.resolve(cwd, configured.trim()));
  const mount = opts.mount ?? PERSISTENT_MOUNT;
  if (isWritableDir(mount)) return path.resolve(mount);
  return ensureDir(path.resolve(cwd, 'data'));
}

/**
 * Why the persistent mount was passed over, when it was: it exists but this process cannot write it (a volume
 * owned by root while the gateway runs as uid 1000). State then lives in ./data and is lost with the container.
 */
export function unusableMount(configured?: string, mount = PERSISTENT_MOUNT): string | undefined {
  if (configured !== undefined && configured.trim() !== '') return undefined;
  try {
    if (!statSync(mount).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return isWritableDir(mount) ? undefined : `${mount} exists but is not writable by this process (uid ${process.getuid?.() ?? '?'})`;
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function isWritableDir(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
