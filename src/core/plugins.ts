/**
 * OnDemand's plugins behind the clients' own switches (docs/plugins.md): which plugin ids a request sends, checked
 * before any upstream call, and the answer stage of a web search (the user's location in the query, the cited
 * URLs as citations at the end of the answer).
 */
import { extractCitations } from './citations.js';
import { gatewayError, invalidRequest } from './errors.js';
import type { EventFilter } from './events.js';
import type { GatewayEvent, GatewayRequest } from './types.js';

/** OnDemand's Internet Search (docs/ondemand-protocol.md §6). */
export const INTERNET_SEARCH_PLUGIN = 'plugin-1713924030';
/** OnDemand allows at most 20 plugins on a query. */
export const MAX_PLUGINS = 20;
/** What an OnDemand plugin (or agent) id looks like. */
export const PLUGIN_ID = /^(?:plugin|agent)-[A-Za-z0-9_-]{1,100}$/;
/** In a client key's allow list: the web search plugin, whatever WEB_SEARCH_PLUGIN_ID says. */
export const WEB_SEARCH_ALIAS = 'web_search';

/**
 * Whether a web search tool the client merely offers (the model may search; Responses `web_search`, Anthropic's
 * server tool) runs the plugin (WEB_SEARCH_WHEN_OFFERED, docs/plugins.md): on every request, only on a request
 * whose last input is not a tool result (a user's turn, not the next step of an agent's tool loop), or never.
 * A search the client requires (chat's `web_search_options`, a tool_choice naming it) always runs.
 */
export type WebSearchWhenOffered = 'always' | 'user_turn' | 'never';
export const WEB_SEARCH_WHEN_OFFERED_VALUES: readonly WebSearchWhenOffered[] = ['always', 'user_turn', 'never'];

export interface PluginSettings {
  /** the plugin a client's web search switch turns on (WEB_SEARCH_PLUGIN_ID) */
  webSearchId: string;
  /** ids a request may name besides the web search plugin and the model's defaults (PLUGIN_IDS_ALLOWED); "*": any */
  allowed: readonly string[];
  /** when an offered web search runs; absent: `user_turn` */
  webSearchWhenOffered?: WebSearchWhenOffered;
}

/** Whether this request's web search runs, by how the client asked and the operator's policy. */
export function webSearchRuns(req: Pick<GatewayRequest, 'plugins' | 'messages'>, policy: WebSearchWhenOffered = 'user_turn'): boolean {
  const search = req.plugins?.webSearch;
  if (search === undefined) return false;
  if (search.mode !== 'offered') return true;
  if (policy === 'user_turn') return req.messages[req.messages.length - 1]?.role !== 'tool';
  return policy === 'always';
}

/**
 * The request as it will run: an offered web search the policy leaves idle is taken out, so no plugin id goes
 * upstream and no citation stage runs (the model answers on its own, as it would without the tool).
 */
export function withWebSearchPolicy(req: GatewayRequest, settings: PluginSettings): GatewayRequest {
  if (req.plugins?.webSearch === undefined || webSearchRuns(req, settings.webSearchWhenOffered)) return req;
  const { webSearch: _idle, ...plugins } = req.plugins;
  const { plugins: _all, ...rest } = req;
  return Object.keys(plugins).length === 0 ? rest : { ...rest, plugins };
}

/**
 * The query's pluginIds for this request: the model's defaults, then the web search plugin, then the ids the
 * request names, without repeats. Throws a 400 for an id the gateway does not allow (`unknown_plugin`) and for
 * one the client key may not use (`plugin_not_allowed`); a model default the key may not use is left out
 * instead, so an operator's default never locks a key out of a model.
 */
export function resolvePluginIds(req: GatewayRequest, settings: PluginSettings): string[] {
  // the common request asks for nothing and its model runs nothing: no sets, no closures
  if (req.modelPlugins === undefined && req.plugins === undefined) return [];
  const keyAllows = (id: string): boolean => {
    const list = req.allowedPlugins;
    if (list === undefined) return true;
    return list.includes('*') || list.includes(id) || (id === settings.webSearchId && list.includes(WEB_SEARCH_ALIAS));
  };
  const ids = new Set<string>();
  for (const id of req.modelPlugins ?? []) if (keyAllows(id)) ids.add(id);
  const asked: Array<{ id: string; param: string }> = [];
  if (req.plugins?.webSearch !== undefined) asked.push({ id: settings.webSearchId, param: req.webSearchParam ?? 'tools' });
  for (const id of req.plugins?.ids ?? []) asked.push({ id, param: 'ondemand_plugins' });
  const gatewayAllows = (id: string): boolean =>
    id === settings.webSearchId || (req.modelPlugins?.includes(id) ?? false) || settings.allowed.includes(id) || (settings.allowed.includes('*') && PLUGIN_ID.test(id));
  for (const { id, param } of asked) {
    if (!gatewayAllows(id)) {
      throw invalidRequest(`Unknown plugin \`${id}\`: this gateway allows ${describeAllowed(settings)}. The operator lists more in PLUGIN_IDS_ALLOWED.`, param, 'unknown_plugin');
    }
    if (!keyAllows(id)) {
      throw gatewayError('plugin_not_allowed', `This client key may not use the plugin \`${id}\` (plugins cost OnDemand credits; the operator allows them per key).`, { param });
    }
    ids.add(id);
  }
  if (ids.size > MAX_PLUGINS)
    throw invalidRequest(`At most ${MAX_PLUGINS} plugins per request (OnDemand's limit); this one has ${ids.size}.`, 'ondemand_plugins', 'too_many_plugins');
  return [...ids];
}

function describeAllowed(s: PluginSettings): string {
  if (s.allowed.includes('*')) return 'any plugin id of the form plugin-… or agent-…';
  const extra = s.allowed.filter((id) => id !== s.webSearchId);
  return extra.length === 0 ? `only its web search plugin (${s.webSearchId})` : `${s.webSearchId} and ${extra.join(', ')}`;
}

// ---- the web search answer stage ------------------------------------------------------------------------------

/** The line of the query that tells the model where the user is, when the client said so. */
export function locationSection(req: GatewayRequest): string | undefined {
  const loc = req.plugins?.webSearch?.userLocation;
  if (loc === undefined) return undefined;
  const place = [loc.city, loc.region, loc.country].filter((p): p is string => p !== undefined && p !== '').join(', ');
  const parts = [place === '' ? undefined : `The user's approximate location: ${place}.`, loc.timezone === undefined ? undefined : `The user's time zone: ${loc.timezone}.`];
  const text = parts.filter((p) => p !== undefined).join(' ');
  return text === '' ? undefined : text;
}

/** Passes every event on; at the end, the URLs the answer's text cites, measured on the text the client got. */
export class CitationFilter implements EventFilter {
  private text = '';
  private ended = false;

  push(event: GatewayEvent): GatewayEvent[] {
    if (this.ended) return [event];
    if (event.type === 'text') this.text += event.text;
    if (event.type !== 'end') return [event];
    this.ended = true;
    return [{ type: 'citations', citations: extractCitations(this.text) }, event];
  }
}

/**
 * Last of the answer stages (src/core/answer.ts), so the indices count the text after tool calls and JSON
 * cleaning took their part. Typed by shape: answer.ts imports this module, not the other way round.
 */
export const webSearchStage: { section(req: GatewayRequest): string | undefined; filter(req: GatewayRequest): EventFilter | undefined } = {
  section: locationSection,
  filter: (req) => (req.plugins?.webSearch === undefined ? undefined : new CitationFilter()),
};
