/**
 * The live model catalogue: OnDemand's `GET /config/v1/public/endpoints`, read at start and every
 * CATALOGUE_REFRESH_SEC off the request path, turned into the alias router the engine and /v1/models use.
 * When the catalogue cannot be read the built-in table (./models.ts) keeps serving. The alias rule for endpoints
 * the built-in table does not know is `deriveAlias` below, documented in docs/models.md.
 */
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import type { OnDemandClient } from './client.js';
import { toFailure } from './client.js';
import { BUILTIN_ALIASES, createModelRouter, normaliseModelName } from '../ondemand/models.js';
import type { ModelRouter, ModelRouterOptions, ResolvedModel } from '../ondemand/models.js';

export const CATALOGUE_PATH = '/config/v1/public/endpoints';

export interface CatalogueEntry {
  endpointId: string;
  name: string;
  modelId: string;
  active: boolean;
  streaming: boolean;
  /** OnDemand's reasoning efforts for this endpoint; empty: not a reasoning model */
  reasoningEfforts: string[];
}

/** One row of GET /v1/models: a name a client may send, and what it routes to. */
export interface ListedModel {
  id: string;
  endpointId: string;
  /** from the catalogue when it was read; undefined when only the built-in table is known */
  name?: string;
  streaming?: boolean;
  reasoning?: boolean;
  reasoningEfforts?: string[];
}

// ---- alias derivation (pure) ----------------------------------------------------------------------------------

/** Vendor segments OnDemand puts before a model's own name (`predefined-openai-gpt4o`, `predefined-xai-grok4`). */
const VENDOR_SEGMENTS = ['openai-', 'xai-', 'anthropic-', 'google-', 'meta-', 'mistralai-'];

/**
 * The alias a client would naturally send for a `predefined-*` endpointId, or null for any other id (byoi-/byom-
 * endpoints are listed under their own id). The steps, in order:
 * 1. lower-case, drop `predefined-`, then one vendor segment (`openai-`, `xai-`, ...);
 * 2. OpenAI's o-series is spelled `gpto3` upstream: a leading `gpto<digit>` becomes `o<digit>`;
 * 3. a leading word (two letters or more) glued to its version gets a hyphen: `gpt4o` → `gpt-4o`, `grok4` → `grok-4`;
 * 4. Claude with a two-part version before the family (`claude-4-6-opus`) becomes Anthropic's order
 *    (`claude-opus-4-6`); a one-part version (`claude-4-sonnet`) is kept as OnDemand spells it.
 * This reproduces every built-in alias of a predefined endpoint (tested), so a new endpoint gets the name the
 * same family already uses.
 */
export function deriveAlias(endpointId: string): string | null {
  let id = endpointId.trim().toLowerCase();
  if (!id.startsWith('predefined-')) return null;
  id = id.slice('predefined-'.length);
  const vendor = VENDOR_SEGMENTS.find((v) => id.startsWith(v) && id.length > v.length);
  if (vendor !== undefined) id = id.slice(vendor.length);
  id = id.replace(/^gpto(?=\d)/, 'o');
  id = id.replace(/^([a-z]{2,})(?=\d)/, '$1-');
  id = id.replace(/^claude-(\d+)-(\d+)-(opus|sonnet|haiku)(?=$|-)/, 'claude-$3-$1-$2');
  return id === '' ? null : id;
}

// ---- parsing the upstream answer (pure) -----------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `{endpointsData: [...]}` (or `data`) → entries; liberal: a missing status means active, a missing
 * streaming flag means streaming. Throws when there is no list at all or no usable entry.
 */
export function parseCatalogue(json: unknown): CatalogueEntry[] {
  const list = isObject(json) ? (json['endpointsData'] ?? json['data']) : undefined;
  if (!Array.isArray(list)) throw new Error('the catalogue answer has no endpointsData list');
  const out: CatalogueEntry[] = [];
  const seen = new Set<string>();
  for (const raw of list) {
    if (!isObject(raw)) continue;
    const endpointId = typeof raw['endpoint_id'] === 'string' ? raw['endpoint_id'].trim() : '';
    if (endpointId === '' || seen.has(endpointId)) continue;
    seen.add(endpointId);
    const status = typeof raw['status'] === 'string' ? raw['status'].trim().toLowerCase() : 'active';
    const efforts = Array.isArray(raw['reasoning_efforts']) ? raw['reasoning_efforts'].filter((e): e is string => typeof e === 'string') : [];
    out.push({
      endpointId,
      name: typeof raw['endpoint_name'] === 'string' ? raw['endpoint_name'] : endpointId,
      modelId: typeof raw['model_id'] === 'string' ? raw['model_id'] : '',
      active: status === 'active',
      streaming: raw['streaming_supported'] !== false,
      reasoningEfforts: efforts,
    });
  }
  if (out.length === 0) throw new Error('the catalogue lists no endpoint');
  return out;
}

/**
 * Aliases for catalogue entries the built-in table does not name: derived alias → endpointId. A derived alias
 * never takes a built-in alias's name; on a clash between two derived aliases the smaller endpointId wins.
 */
export function derivedAliases(entries: readonly CatalogueEntry[]): Record<string, string> {
  const builtinTargets = new Set(Object.values(BUILTIN_ALIASES).map((e) => e.toLowerCase()));
  const taken = new Set(Object.keys(BUILTIN_ALIASES).map(normaliseModelName));
  const out: Record<string, string> = {};
  for (const e of [...entries].sort((a, b) => (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0))) {
    if (builtinTargets.has(e.endpointId.toLowerCase())) continue;
    const alias = deriveAlias(e.endpointId);
    if (alias === null || taken.has(alias)) continue;
    taken.add(alias);
    out[alias] = e.endpointId;
  }
  return out;
}

// ---- the live router ------------------------------------------------------------------------------------------

export interface LiveModelRouter extends ModelRouter {
  /** GET /v1/models: every name a client may send, with what the catalogue says of its endpoint */
  models(): ListedModel[];
  /** what the catalogue says of an endpoint (undefined: not read, or not listed) */
  endpoint(endpointId: string): CatalogueEntry | undefined;
  /** true only when the catalogue was read and marks this endpoint inactive */
  isInactive(endpointId: string): boolean;
  /** swap in a new catalogue; throws (keeping the old routing) if it makes the configuration invalid */
  apply(entries: readonly CatalogueEntry[]): void;
  /** when the catalogue was last applied (ms since epoch), null while the built-in table serves */
  loadedAt(): number | null;
}

export interface LiveModelRouterOptions extends ModelRouterOptions {
  /** names handled before the alias table (e.g. AUTO_MODEL_NAME), listed first in /v1/models */
  virtualModels?: readonly ListedModel[];
}

/**
 * A ModelRouter whose table can be replaced while running. MODEL_MAP always wins over built-in and derived
 * aliases; with a catalogue, aliases of endpoints it does not list (or lists as inactive) are hidden from
 * /v1/models but still resolve (the upstream decides, and fallback chains can move on).
 */
export function createLiveModelRouter(options: LiveModelRouterOptions): LiveModelRouter {
  const base: ModelRouterOptions = { defaultModel: options.defaultModel, strict: options.strict ?? false };
  const modelMap = options.modelMap ?? {};
  let current = createModelRouter({ ...base, modelMap });
  let byEndpoint = new Map<string, CatalogueEntry>();
  let loaded: number | null = null;
  let listing: ListedModel[] = current.list().map((m) => ({ id: m.id, endpointId: m.endpointId }));
  const virtual = (options.virtualModels ?? []).map((m) => ({ ...m }));

  const visible = (endpointId: string): boolean => {
    if (loaded === null) return true;
    const e = byEndpoint.get(endpointId.toLowerCase());
    if (e !== undefined) return e.active;
    // operator-configured custom endpoints are not in the public catalogue
    return /^byo[im]-/i.test(endpointId);
  };

  const rebuildListing = (): void => {
    listing = current
      .list()
      .filter((m) => visible(m.endpointId))
      .map((m) => {
        const e = byEndpoint.get(m.endpointId.toLowerCase());
        const row: ListedModel = { id: m.id, endpointId: m.endpointId };
        if (e !== undefined) {
          row.name = e.name;
          row.streaming = e.streaming;
          row.reasoning = e.reasoningEfforts.length > 0;
          row.reasoningEfforts = [...e.reasoningEfforts];
        }
        return row;
      });
  };

  return {
    resolve(requested: string): ResolvedModel | null {
      return current.resolve(requested);
    },
    list() {
      return listing.map((m) => ({ id: m.id, endpointId: m.endpointId }));
    },
    models() {
      return [...virtual, ...listing].map((m) => ({ ...m, ...(m.reasoningEfforts ? { reasoningEfforts: [...m.reasoningEfforts] } : {}) }));
    },
    endpoint(endpointId) {
      const e = byEndpoint.get(endpointId.toLowerCase());
      return e === undefined ? undefined : { ...e, reasoningEfforts: [...e.reasoningEfforts] };
    },
    isInactive(endpointId) {
      return byEndpoint.get(endpointId.toLowerCase())?.active === false;
    },
    apply(entries) {
      const next = createModelRouter({ ...base, modelMap: { ...derivedAliases(entries), ...modelMap } });
      current = next;
      byEndpoint = new Map(entries.map((e) => [e.endpointId.toLowerCase(), { ...e }]));
      loaded = Date.now();
      rebuildListing();
    },
    loadedAt() {
      return loaded;
    },
  };
}

// ---- reading it from the upstream ------------------------------------------------------------------------------

export interface CatalogueLoaderOptions {
  router: LiveModelRouter;
  client: Pick<OnDemandClient, 'getJson'>;
  /** raw keys the pool can use right now, best first (see `usableKeys`) */
  keys: () => string[];
  /** 0: never read (the built-in table serves) */
  refreshSec: number;
  /** cap on one read (all keys it tries) */
  timeoutMs: number;
  log?: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

export interface CatalogueLoader {
  /** read now; resolves true when a new catalogue was applied, false when it could not be read (logged) */
  refresh(): Promise<boolean>;
  stop(): void;
}

/** Keys a read tries before giving up until the next refresh. */
export const CATALOGUE_KEYS_TRIED = 3;

/**
 * The raw keys among `known` whose pool entry is usable now (active or on probation), in the pool's order.
 * The read takes no lease and reports nothing to the pool: a lease would shift the pool's fair rotation at every
 * refresh, and key health is judged on real traffic and probes. Keys added only through the admin API are not
 * known here (the pool never hands out raw keys); env and config-file keys are.
 */
export function usableKeys(pool: { list(): ReadonlyArray<{ fingerprint: string; state: string }> }, known: readonly string[]): string[] {
  const byFp = new Map<string, string>();
  for (const key of known) {
    byFp.set(fingerprintKey(key), key);
    byFp.set(fingerprintKey(key, 16), key);
  }
  const out: string[] = [];
  for (const info of pool.list()) {
    if (info.state !== 'active' && info.state !== 'probation') continue;
    const key = byFp.get(info.fingerprint);
    if (key !== undefined && !out.includes(key)) out.push(key);
  }
  return out;
}

/** Tries up to CATALOGUE_KEYS_TRIED keys; throws the last failure (or "no usable key"). */
export async function readCatalogue(client: Pick<OnDemandClient, 'getJson'>, keys: readonly string[], signal: AbortSignal): Promise<CatalogueEntry[]> {
  if (keys.length === 0) throw new Error('no usable upstream key to read it with');
  let last: unknown;
  for (const key of keys.slice(0, CATALOGUE_KEYS_TRIED)) {
    signal.throwIfAborted();
    try {
      return parseCatalogue(await client.getJson(CATALOGUE_PATH, key, signal));
    } catch (err) {
      last = err instanceof Error ? err : toFailure(err, 'catalogue', signal);
    }
  }
  throw last;
}

export function startCatalogueLoader(opts: CatalogueLoaderOptions): CatalogueLoader {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let stopped = false;
  const stopAll = new AbortController();

  const refresh = (): Promise<boolean> => {
    if (stopped || opts.refreshSec === 0) return Promise.resolve(false);
    running ??= (async () => {
      const signal = AbortSignal.any([stopAll.signal, AbortSignal.timeout(opts.timeoutMs)]);
      try {
        const entries = await readCatalogue(opts.client, opts.keys(), signal);
        opts.router.apply(entries);
        const active = entries.filter((e) => e.active).length;
        opts.log?.info({ endpoints: entries.length, active }, 'model catalogue loaded');
        return true;
      } catch (err) {
        if (!stopped) {
          const reason = err instanceof Error ? err.message : String(err);
          const serving = opts.router.loadedAt() === null ? 'the built-in model table' : 'the last catalogue read';
          opts.log?.warn({ reason }, `model catalogue could not be read; ${serving} keeps serving`);
        }
        return false;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  if (opts.refreshSec > 0) {
    timer = setInterval(() => void refresh(), opts.refreshSec * 1000);
    timer.unref();
  }
  return {
    refresh,
    stop() {
      stopped = true;
      stopAll.abort();
      if (timer) clearInterval(timer);
    },
  };
}
