/**
 * Client keys at the HTTP edge: which named key a request came with (the auth hook), whether it may go on (the
 * preHandler: allowed model, tokens today, requests this minute; the allowed plugins go on to the engine), and
 * what it used (onResponse: tokens).
 * Refusals are OpenAI-shaped: 403 permission_error for a model the key may not use, 429 rate_limit_error with
 * Retry-After for a limit.
 */
import type { FastifyRequest } from 'fastify';
import { clientKeyConflict, clientRateLimited, type GatewayError, invalidApiKey, modelNotAllowed } from '../core/errors.js';
import type { Usage } from '../core/types.js';
import { ClientKeyRegistry, describeClientKey, generateClientKey, keyDigest, type ClientKeyConfig, type ClientKeyInfo, type StoredClientKey } from './keys.js';
import type { ClientKeyStore } from '../store/client-key-store.js';
import type { QuotaStore } from '../store/quota-store.js';

/** What the app's hooks need (src/http/app.ts). */
export interface ClientAccessHook {
  /** the named key this presented key is, if any; `index` is its stable position among the named keys */
  match(presented: string | undefined, presentedDigest?: Buffer): { name: string; index: number } | undefined;
  /** throws a GatewayError when the request must not go on */
  admit(request: FastifyRequest): Promise<void>;
  /** after the response: count its tokens (never throws, never awaited) */
  settle(gw: { clientName?: string | undefined; usage?: Usage | undefined }): void;
}

export interface ClientAccessOptions {
  configured: readonly ClientKeyConfig[];
  store: ClientKeyStore;
  limits: QuotaStore;
  now?: () => number;
  onError?: (err: unknown, context: string) => void;
}

export class ClientAccess implements ClientAccessHook {
  readonly registry: ClientKeyRegistry;
  private readonly store: ClientKeyStore;
  private readonly limits: QuotaStore;
  private readonly now: () => number;
  private readonly onError: (err: unknown, context: string) => void;
  private unsubscribe: (() => void) | undefined;

  constructor(opts: ClientAccessOptions) {
    this.registry = new ClientKeyRegistry(opts.configured);
    this.store = opts.store;
    this.limits = opts.limits;
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => {});
  }

  /** Loads the stored keys and follows other replicas' changes. */
  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = this.store.subscribe?.(() => void this.reload());
  }

  async reload(): Promise<void> {
    try {
      this.registry.setStored(await this.store.list());
    } catch (err) {
      // Redis away at start: the configured keys work, the admin-added ones come when it is back
      this.onError(err instanceof Error ? err.message : err, 'loading client keys failed; keeping the ones already known');
    }
  }

  match(presented: string | undefined, presentedDigest?: Buffer): (ClientKeyInfo & { index: number }) | undefined {
    return this.registry.match(presented, presentedDigest);
  }

  async admit(request: FastifyRequest): Promise<void> {
    const name = request.gw?.clientName;
    if (name === undefined || request.method !== 'POST') return;
    const key = this.registry.get(name);
    if (key === undefined) throw revoked();
    const model = (request.body as { model?: unknown } | null | undefined)?.model;
    if (key.models !== undefined && typeof model === 'string' && !key.models.includes(model)) {
      throw modelNotAllowed(key.name, model);
    }
    // checked by the engine against what the request asks for, before any upstream call (src/core/plugins.ts)
    if (key.plugins !== undefined) request.gw.allowedPlugins = key.plugins;
    const now = this.now();
    if (key.tpd !== undefined) {
      const day = await this.limits.checkDay(key.name, key.tpd, now);
      if (!day.allowed) throw limited(`tokens per day (${key.tpd})`, key.name, day.retryAfterSec, 'tokens');
    }
    if (key.rpm !== undefined) {
      const minute = await this.limits.hitMinute(key.name, key.rpm, now);
      if (!minute.allowed) throw limited(`requests per minute (${key.rpm})`, key.name, minute.retryAfterSec, 'requests');
    }
  }

  settle(gw: { clientName?: string | undefined; usage?: Usage | undefined }): void {
    if (gw.clientName === undefined || gw.usage === undefined) return;
    const key = this.registry.get(gw.clientName);
    if (key?.tpd === undefined) return;
    const tokens = gw.usage.totalTokens;
    Promise.resolve(this.limits.addTokens(key.name, tokens, this.now())).catch((err: unknown) => this.onError(err, 'counting tokens failed'));
  }

  // ── admin ──────────────────────────────────────────────────────────────────────────────────────────────

  list(): Record<string, unknown>[] {
    return this.registry.list().map(describeClientKey);
  }

  /** Adds a key; returns its public view plus the key (the only time it is shown). */
  async create(input: Omit<ClientKeyConfig, 'key'> & { key?: string | undefined }): Promise<Record<string, unknown>> {
    if (this.registry.get(input.name) !== undefined) throw conflict(`a client key named "${input.name}" already exists`, 'name');
    const key = input.key ?? generateClientKey();
    const digest = keyDigest(key);
    if (this.registry.hasDigest(digest)) throw conflict('this key is already in use by another client key', 'key');
    const stored: StoredClientKey = { name: input.name, digest, models: input.models, rpm: input.rpm, tpd: input.tpd, plugins: input.plugins, createdAt: this.now() };
    await this.store.put(stored);
    await this.reload();
    return { ...describeClientKey({ ...stored, source: 'admin' }), key };
  }

  /** false when unknown; throws for a configured key (it would come back on restart). */
  async remove(name: string): Promise<boolean> {
    const key = this.registry.get(name);
    if (key === undefined) return false;
    if (key.source === 'config') {
      throw conflict(`"${name}" comes from the configuration (CLIENT_KEYS or the config file): remove it there`, 'name');
    }
    await this.store.delete(name);
    await this.reload();
    return true;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.limits.close();
    await this.store.close();
  }
}

function limited(what: string, name: string, retryAfterSec: number | undefined, kind: 'tokens' | 'requests'): GatewayError {
  return clientRateLimited(name, what, kind, retryAfterSec);
}

const revoked = (): GatewayError => invalidApiKey();

const conflict = clientKeyConflict;
