/**
 * CONFIG_FILE: client keys and upstream keys that can change without a restart (format: docs/config-file.md).
 *
 * Read at start (a broken file stops the start, naming CONFIG_FILE), then re-read when it changes — fs.watch on its
 * directory (editors and Kubernetes swap files by rename, which a watch on the file itself misses), debounced, plus
 * a poll because some mounts deliver no events at all — and on SIGHUP (main.ts). This file only reads, checks and
 * announces a new configuration (`onReload`); the parts apply it themselves (src/wiring/reload.ts), and requests in
 * flight keep the key they leased. A broken file on reload keeps the last good configuration and logs why; nothing
 * here throws at a caller after start. No key ever reaches a log or an error message: only counts and field paths.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { clientKeysSchema } from '../client-keys/keys.js';
import { ConfigError, type Config } from './config.js';

const key = z.string().trim().min(1, 'must not be empty').max(1024).regex(/^\S+$/, 'must not contain whitespace');

const upstreamKey = z.union([
  key,
  z.object({
    key,
    weight: z.number().positive().max(1000).optional(),
    label: z.string().trim().min(1).max(100).optional(),
  }),
]);

/**
 * Unknown top-level fields are kept (and ignored here), so the file can grow: `clientKeys` (named client keys with
 * limits) and `models` (per-model settings) are planned; their owners add them to this schema and read them through
 * `ConfigFileSource.onReload`.
 */
export const configFileSchema = z.looseObject({
  privateKeys: z.array(key).optional(),
  ondemandKeys: z.array(upstreamKey).optional(),
  /** named client keys with limits (src/client-keys/keys.ts) */
  clientKeys: clientKeysSchema.optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Parses the file's text; throws an Error whose message names the bad field but never echoes a value. */
export function parseConfigFile(text: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // V8's message quotes the text around the error, which may be a key: keep only where it is.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new Error(`not valid JSON${at === undefined ? '' : ` (${lineCol(text, Number(at))})`}`);
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${safeIssueMessage(i.message)}`);
    throw new Error(issues.join('; '));
  }
  return parsed.data;
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/** zod's messages name types and limits, not values; this is a guard in case one ever quotes the input. */
function safeIssueMessage(message: string): string {
  return message.includes('"') ? 'invalid value' : message;
}

/** An upstream key as the file gives it: the bare key, or with a weight and a label. */
export type UpstreamKeySpec = string | { key: string; weight?: number | undefined; label?: string | undefined };

export interface ConfigLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Applies a newly read file to one part; may return counts for the reload's log line (never keys). */
// biome-ignore lint/suspicious/noConfusingVoidType: a part with nothing to count returns nothing
export type ReloadListener = (file: ConfigFile, source: ConfigFileSource) => Record<string, number> | void;

export interface WatchOptions {
  /** quiet time after the last change event before the file is read (editors write in several steps) */
  debounceMs?: number;
  /** CONFIG_POLL_MS: re-read this often whatever the events say; 0 = events and SIGHUP only */
  pollMs: number;
}

type EnvPart = Pick<Config, 'PRIVATE_KEY' | 'ALLOW_NO_AUTH'>;

export class ConfigFileSource {
  private file: ConfigFile;
  private text: string;
  private log: ConfigLog | undefined;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private lastError = '';
  private closed = false;
  private readonly listeners = new Set<ReloadListener>();

  private constructor(
    readonly path: string,
    private readonly env: EnvPart,
    text: string,
    file: ConfigFile,
  ) {
    this.text = text;
    this.file = file;
  }

  /** Reads and validates the file at start; throws ConfigError naming CONFIG_FILE when it cannot be used. */
  static load(filePath: string, env: EnvPart): ConfigFileSource {
    const resolved = path.resolve(filePath);
    let text: string;
    let file: ConfigFile;
    try {
      text = readFileSync(resolved, 'utf8');
      file = parseConfigFile(text);
    } catch (err) {
      throw new ConfigError(`CONFIG_FILE ${resolved}: ${describeError(err)}`);
    }
    const source = new ConfigFileSource(resolved, env, text, file);
    const problem = source.unusable(file);
    if (problem !== undefined) throw new ConfigError(`CONFIG_FILE ${resolved}: ${problem}`);
    return source;
  }

  /** The last good file. */
  get current(): ConfigFile {
    return this.file;
  }

  /** PRIVATE_KEY ∪ the file's privateKeys, order kept, duplicates dropped. */
  clientKeys(file: ConfigFile = this.file): string[] {
    return [...new Set([...this.env.PRIVATE_KEY, ...(file.privateKeys ?? [])])];
  }

  upstreamKeys(file: ConfigFile = this.file): UpstreamKeySpec[] {
    return (file.ondemandKeys ?? []).map((k) => (typeof k === 'string' ? k : { key: k.key, weight: k.weight, label: k.label }));
  }

  /** Called with each newly read file, in the order registered; each part applies what it keeps in the file. */
  onReload(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts watching and polling; each change read is announced to the reload listeners. */
  watch(log: ConfigLog, opts: WatchOptions): void {
    this.log = log;
    const debounceMs = opts.debounceMs ?? 200;
    const onEvent = (_event: string, name: string | Buffer | null): void => {
      // Any event in the directory may be ours (a rename onto the file, a ..data symlink swap); the read decides.
      void name;
      if (this.debounceTimer !== undefined) this.debounceTimer.refresh();
      else {
        this.debounceTimer = setTimeout(() => {
          this.debounceTimer = undefined;
          this.reload('change');
        }, debounceMs);
        this.debounceTimer.unref();
      }
    };
    try {
      this.watcher = watch(path.dirname(this.path), { persistent: false }, onEvent);
      this.watcher.on('error', (err) => {
        log.warn({ configFile: this.path, err: describeError(err) }, 'CONFIG_FILE: watching stopped; changes are picked up by the poll and SIGHUP only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      log.warn({ configFile: this.path, err: describeError(err) }, 'CONFIG_FILE: cannot watch its directory; changes are picked up by the poll and SIGHUP only');
    }
    if (opts.pollMs > 0) {
      this.pollTimer = setInterval(() => this.reload('poll'), opts.pollMs);
      this.pollTimer.unref();
    }
  }

  /**
   * Re-reads the file and applies it when its text changed (always on 'SIGHUP'). Returns true when a new
   * configuration was applied. Never throws: a bad file keeps the last good configuration and is logged once.
   */
  reload(trigger: 'change' | 'poll' | 'SIGHUP' | string = 'SIGHUP'): boolean {
    const log = this.log;
    if (this.closed || log === undefined) return false;
    const forced = trigger === 'SIGHUP';
    let text: string;
    let file: ConfigFile;
    try {
      text = readFileSync(this.path, 'utf8');
      if (text === this.text && !forced) {
        this.lastError = '';
        return false;
      }
      file = parseConfigFile(text);
      const problem = this.unusable(file);
      if (problem !== undefined) throw new Error(problem);
    } catch (err) {
      const message = describeError(err);
      // The poll would repeat the same complaint every few seconds: say it once per distinct problem.
      if (forced || message !== this.lastError) {
        log.error({ configFile: this.path, trigger, err: message }, `CONFIG_FILE reload failed, keeping the last good configuration: ${message}`);
      }
      this.lastError = message;
      return false;
    }
    this.lastError = '';
    this.text = text;
    this.file = file;
    const counts: Record<string, number> = { clientKeys: this.clientKeys(file).length };
    for (const listener of this.listeners) {
      try {
        Object.assign(counts, listener(file, this));
      } catch (err) {
        log.error({ configFile: this.path, err: describeError(err) }, 'CONFIG_FILE reload listener failed');
      }
    }
    log.info({ configFile: this.path, trigger, ...counts }, 'CONFIG_FILE reloaded');
    return true;
  }

  /** Stops watching and polling (gateway close). */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    this.pollTimer = undefined;
    this.debounceTimer = undefined;
  }

  /** A file that parses but would lock every client out. */
  private unusable(file: ConfigFile): string | undefined {
    if (this.clientKeys(file).length === 0 && (file.clientKeys ?? []).length === 0 && !this.env.ALLOW_NO_AUTH) {
      return 'no client key: PRIVATE_KEY is not set and the file has no privateKeys (or set ALLOW_NO_AUTH=true to run an open gateway)';
    }
    return undefined;
  }
}

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'the file does not exist';
  if (e?.code === 'EACCES') return 'the file cannot be read (permission denied)';
  if (e?.code === 'EISDIR') return 'is a directory, not a file';
  return e instanceof Error ? e.message : String(err);
}
