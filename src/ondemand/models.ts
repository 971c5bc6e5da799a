/**
 * Which OnDemand endpointId a client's model name means (docs/ondemand-protocol.md §4).
 *
 * A name is looked up after normalising it: trimmed, lower-cased, all whitespace removed. So " GPT-4o " and
 * "gpt-4 o" are gpt-4o, but "gpt 4o" is "gpt4o", which is not an alias: whitespace is dropped, never read as a
 * hyphen, because guessing separators would make distinct names collide.
 *
 * Order: an alias (MODEL_MAP over the built-in table) → a raw endpointId (predefined-, byoi-, byom-) passed
 * through → the default model, or null when STRICT_MODELS is on.
 */

/** Aliases OpenAI-style clients send, and the endpointIds seen in use. */
export const BUILTIN_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'gpt-4o': 'predefined-openai-gpt4o',
  'gpt-4o-mini': 'predefined-openai-gpt4o-mini',
  'gpt-4.1': 'predefined-openai-gpt4.1',
  'gpt-4.1-mini': 'predefined-openai-gpt4.1-mini',
  'gpt-4.1-nano': 'predefined-openai-gpt4.1-nano',
  'o3-mini': 'predefined-openai-gpto3-mini',
  'gpto3-mini': 'predefined-openai-gpto3-mini',
  'gpt-5.2': 'predefined-openai-gpt5.2',
  'claude-3.7-sonnet': 'predefined-claude-3.7-sonnet',
  'claude-4-sonnet': 'predefined-claude-4-sonnet',
  'claude-4-opus': 'predefined-claude-4-opus',
  'claude-sonnet-4-6': 'predefined-claude-sonnet-4-6',
  'claude-opus-4-6': 'predefined-claude-4-6-opus',
  'claude-haiku-4-5': 'predefined-claude-haiku-4-5',
  'gemini-2.0-flash': 'predefined-gemini-2.0-flash',
  'gemini-2.5-pro': 'predefined-gemini-2.5-pro',
  'gemini-2.5-flash': 'predefined-gemini-2.5-flash',
  'deepseek-v3': 'predefined-deepseek-v3',
  'deepseek-r1': 'predefined-deepseek-r1',
  'grok-4': 'predefined-xai-grok4',
});

const ENDPOINT_PREFIXES = ['predefined-', 'byoi-', 'byom-'] as const;

export interface ModelRouterOptions {
  /** DEFAULT_MODEL: an alias or an endpointId */
  defaultModel: string;
  /** MODEL_MAP: alias → endpointId, merged over BUILTIN_ALIASES (an entry with the same name wins) */
  modelMap?: Readonly<Record<string, string>>;
  /** STRICT_MODELS: unknown names resolve to null instead of the default model */
  strict?: boolean;
}

export interface ResolvedModel {
  endpointId: string;
  /** the alias whose entry was used (for 'default': the default model's alias, if it was given as one) */
  alias: string | null;
  matched: 'alias' | 'passthrough' | 'default';
}

export interface ModelRouter {
  resolve(requested: string): ResolvedModel | null;
  /** every alias, sorted by id (for GET /v1/models) */
  list(): Array<{ id: string; endpointId: string }>;
}

interface AliasEntry {
  id: string;
  endpointId: string;
}

/** printable ASCII without upper case letters or spaces: a name that is its own normal form */
const NORMAL_NAME = /^[!-@[-~]*$/;

/** Lower case, no white space. A plan normalises the requested name several times: one test for the usual, already normal name. */
export function normaliseModelName(name: string): string {
  return NORMAL_NAME.test(name) ? name : name.trim().toLowerCase().replace(/\s+/g, '');
}

function isEndpointId(name: string): boolean {
  const lower = name.toLowerCase();
  return ENDPOINT_PREFIXES.some((p) => lower.startsWith(p));
}

export function createModelRouter(options: ModelRouterOptions): ModelRouter {
  const aliases = new Map<string, AliasEntry>();
  const addAliases = (table: Readonly<Record<string, string>>): void => {
    for (const [id, endpointId] of Object.entries(table)) {
      const key = normaliseModelName(id);
      const target = endpointId.trim();
      if (key === '' || target === '') throw new Error(`MODEL_MAP: empty alias or endpointId in "${id}"`);
      aliases.set(key, { id: id.trim(), endpointId: target });
    }
  };
  addAliases(BUILTIN_ALIASES);
  addAliases(options.modelMap ?? {});

  // Known endpointIds by lower case, so "Predefined-OpenAI-GPT4o" is sent upstream as "predefined-openai-gpt4o".
  const canonicalEndpoints = new Map<string, string>();
  for (const { endpointId } of aliases.values()) canonicalEndpoints.set(endpointId.toLowerCase(), endpointId);

  const strict = options.strict ?? false;

  const lookup = (requested: string): ResolvedModel | null => {
    const entry = aliases.get(normaliseModelName(requested));
    if (entry !== undefined) return { endpointId: entry.endpointId, alias: entry.id, matched: 'alias' };
    const trimmed = requested.trim();
    if (isEndpointId(trimmed)) {
      return { endpointId: canonicalEndpoints.get(trimmed.toLowerCase()) ?? trimmed, alias: null, matched: 'passthrough' };
    }
    return null;
  };

  const fallback = lookup(options.defaultModel);
  if (fallback === null) {
    throw new Error(`DEFAULT_MODEL "${options.defaultModel}" is neither a known alias nor an endpointId (predefined-*, byoi-*, byom-*)`);
  }
  const defaultResult: ResolvedModel = Object.freeze({ ...fallback, matched: 'default' });

  const listing = [...aliases.values()].map((e) => ({ id: e.id, endpointId: e.endpointId })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  return {
    resolve(requested) {
      // A blank name asks for nothing in particular: the default, even in strict mode.
      if (normaliseModelName(requested) === '') return { ...defaultResult };
      const found = lookup(requested);
      if (found !== null) return found;
      return strict ? null : { ...defaultResult };
    },
    list() {
      return listing.map((e) => ({ ...e }));
    },
  };
}
