/**
 * Named client keys: who is calling, which models they may use, and how much (requests a minute, tokens a day).
 * They come from the configuration (CLIENT_KEYS, or the config file's `clientKeys` section) and from the admin
 * API (kept in the store: only a sha256 of the key, never the key). PRIVATE_KEY stays what it was: an unnamed key
 * without limits.
 *
 * Matching is by sha256 of the presented key in a Map: the lookup's timing depends on a digest the caller cannot
 * choose byte by byte, so it leaks nothing about the stored keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { StoredClientKey } from '../store/types.js';

const NAME = /^[A-Za-z0-9][\w.@-]{0,63}$/;

const limitFields = {
  name: z.string().trim().regex(NAME, 'letters, digits, and . _ @ - (up to 64), starting with a letter or digit'),
  /** allowed model names as the client sends them; absent = every model */
  models: z.array(z.string().trim().min(1)).min(1).optional(),
  /** requests per minute, cluster-wide (sliding 60 s window) */
  rpm: z.number().int().positive().optional(),
  /** tokens per UTC day, cluster-wide, counted from each answer's usage */
  tpd: z.number().int().positive().optional(),
  /**
   * OnDemand plugins the key may run (they cost credits): ids, "web_search" for the web search plugin, "*" for any
   * the gateway allows; [] for none; absent = any the gateway allows
   */
  plugins: z
    .array(
      z
        .string()
        .trim()
        .regex(/^(?:\*|web_search|(?:plugin|agent)-[A-Za-z0-9_-]{1,100})$/, 'expected an OnDemand plugin id, "web_search" or "*"'),
    )
    .max(100)
    .optional(),
};

/** One entry of the config file's `clientKeys` array (and of CLIENT_KEYS). */
export const clientKeyConfigSchema = z.object({
  ...limitFields,
  key: z.string().trim().min(8, 'at least 8 characters').regex(/^\S+$/, 'must not contain whitespace'),
});

/** The config file's `clientKeys` section. */
export const clientKeysSchema = z.array(clientKeyConfigSchema).superRefine((keys, ctx) => {
  const names = new Set<string>();
  const digests = new Set<string>();
  keys.forEach((k, i) => {
    if (names.has(k.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate client key name "${k.name}"` });
    const d = keyDigest(k.key);
    if (digests.has(d)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: 'the same key is listed twice' });
    names.add(k.name);
    digests.add(d);
  });
});

export type ClientKeyConfig = z.infer<typeof clientKeyConfigSchema>;

/** The admin API's POST body: the key may be omitted (one is generated and shown once). */
export const clientKeyCreateSchema = z.object({
  ...limitFields,
  key: clientKeyConfigSchema.shape.key.optional(),
});

/** CLIENT_KEYS: a JSON array of client keys (the config file's `clientKeys` section is the other way in). */
export const clientKeysEnv = z.string().transform((v, ctx) => {
  if (v.trim() === '') return [] as ClientKeyConfig[];
  let raw: unknown;
  try {
    raw = JSON.parse(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not valid JSON (expected an array of {"name","key","models"?,"rpm"?,"tpd"?,"plugins"?})' });
    return z.NEVER;
  }
  const parsed = clientKeysSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
  return z.NEVER;
});

/** What the gateway knows of a client key; the key itself only as its digest. */
export interface ClientKeyInfo extends StoredClientKey {
  source: 'config' | 'admin';
}

export type { StoredClientKey };

export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateClientKey(): string {
  return `sk-gw-${randomBytes(24).toString('base64url')}`;
}

export function fromConfig(k: ClientKeyConfig): ClientKeyInfo {
  return { name: k.name, digest: keyDigest(k.key), models: k.models, rpm: k.rpm, tpd: k.tpd, plugins: k.plugins, source: 'config' };
}

/** Public view (admin API): never the digest either. */
export function describeClientKey(k: ClientKeyInfo): Record<string, unknown> {
  return {
    name: k.name,
    models: k.models ?? null,
    rpm: k.rpm ?? null,
    tpd: k.tpd ?? null,
    plugins: k.plugins ?? null,
    source: k.source,
    ...(k.createdAt === undefined ? {} : { created: new Date(k.createdAt).toISOString() }),
  };
}

/** Config keys first (they win a name clash), then the stored ones. */
export class ClientKeyRegistry {
  private byDigest = new Map<string, ClientKeyInfo & { index: number }>();
  private byName = new Map<string, ClientKeyInfo>();
  private configured: ClientKeyInfo[];
  private stored: ClientKeyInfo[] = [];

  constructor(configured: readonly ClientKeyConfig[]) {
    this.configured = configured.map(fromConfig);
    this.rebuild();
  }

  setConfigured(configured: readonly ClientKeyConfig[]): void {
    this.configured = configured.map(fromConfig);
    this.rebuild();
  }

  setStored(stored: readonly StoredClientKey[]): void {
    this.stored = stored.map((s) => ({ ...s, source: 'admin' as const }));
    this.rebuild();
  }

  /** `presentedDigest`: the raw sha256 of `presented` when the caller has it already (one hash per request). */
  match(presented: string | undefined, presentedDigest?: Buffer): (ClientKeyInfo & { index: number }) | undefined {
    // no named keys (most gateways): no digest text is made per request
    if (presented === undefined || presented.length === 0 || this.byDigest.size === 0) return undefined;
    return this.byDigest.get(presentedDigest !== undefined ? presentedDigest.toString('hex') : keyDigest(presented));
  }

  get(name: string): ClientKeyInfo | undefined {
    return this.byName.get(name);
  }

  hasDigest(digest: string): boolean {
    return this.byDigest.has(digest);
  }

  list(): ClientKeyInfo[] {
    return [...this.byName.values()];
  }

  get size(): number {
    return this.byName.size;
  }

  private rebuild(): void {
    const byDigest = new Map<string, ClientKeyInfo & { index: number }>();
    const byName = new Map<string, ClientKeyInfo>();
    for (const k of [...this.configured, ...this.stored]) {
      if (byName.has(k.name) || byDigest.has(k.digest)) continue;
      byName.set(k.name, k);
      byDigest.set(k.digest, { ...k, index: byDigest.size });
    }
    this.byDigest = byDigest;
    this.byName = byName;
  }
}
