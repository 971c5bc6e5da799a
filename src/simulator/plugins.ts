/**
 * Plugins the simulator runs (docs/ondemand-protocol.md §2.7, §6): the table of plugin ids it knows, the search a
 * run makes, the planner's plan and the plugin call it streams, and the deterministic answer with its sources.
 * Tests import these to predict a plugin run exactly.
 */

/** Internet Search, the plugin the captures show (it appears in a run as `fetchInternetData`). */
export const INTERNET_SEARCH_PLUGIN_ID = 'plugin-1713924030';

export interface SimPlugin {
  /** the name a run gives it in the plan and in the plugin call */
  name: string;
  /** what the plugin call's `description` says */
  description: string;
  /** how an answer names it when it fails */
  title: string;
}

/** The plugin ids the simulator knows; any other id in a query is a 400. */
export const SIM_PLUGINS: Readonly<Record<string, SimPlugin>> = Object.freeze({
  [INTERNET_SEARCH_PLUGIN_ID]: {
    name: 'fetchInternetData',
    description: 'Searches the web for up-to-date information and source details.',
    title: 'Internet Search',
  },
});

/** The media plugins (docs/ondemand-protocol.md §5): what each reads from an upload. Any other id in an upload is a 400. */
export const SIM_MEDIA_PLUGINS: Readonly<Record<string, 'document' | 'image' | 'audio'>> = Object.freeze({
  'plugin-1713954536': 'document',
  'plugin-1713958591': 'image',
  'plugin-1713958830': 'audio',
});

/** The first id that is not a media plugin, if any. */
export function unknownMediaPluginId(ids: readonly string[]): string | undefined {
  return ids.find((id) => !Object.hasOwn(SIM_MEDIA_PLUGINS, id));
}

/** Query marker: the plugin runs but fails; the failure is written into the answer (PLUGIN_FAILURE_REASON). */
export const PLUGIN_FAIL_MARKER = 'SIM_PLUGIN_FAIL';
/** Query marker: the plugin run times out; the query is answered 504 plugin_execution_timeout after the plugin delay. */
export const PLUGIN_TIMEOUT_MARKER = 'SIM_PLUGIN_TIMEOUT';
/**
 * Query marker: the plugin run times out inside the stream: 200, the planner and plugin-call frames, then after
 * the plugin delay `data:[ERROR]:{"message","errorCode":"plugin_execution_timeout"}` and the end (no [DONE]).
 * Checked before PLUGIN_TIMEOUT_MARKER, which it contains.
 */
export const PLUGIN_STREAM_TIMEOUT_MARKER = 'SIM_PLUGIN_TIMEOUT_STREAM';

export const PLUGIN_TIMEOUT_ERROR_CODE = 'plugin_execution_timeout';
export const PLUGIN_TIMEOUT_MESSAGE = 'Plugin execution timed out after 2.5 minutes';
/** The reason a failing plugin gives (the kind of failure the live service writes into answers). */
export const PLUGIN_FAILURE_REASON = 'Not enough credits';
/** Default pause of a plugin run between the plugin call and the answer, in ms. */
export const DEFAULT_PLUGIN_DELAY_MS = 20;
/** Heartbeat interval during plugin runs when the heartbeatMs option is 0 (the live service beats about every 3 s). */
export const PLUGIN_HEARTBEAT_MS = 3000;
/** The planner's reasoning, streamed as planning_thinking deltas. */
export const PLANNING_THINKING_TEXT = '**Planning the search**\n\nThe question needs current information, so one step with the web plugin should answer it.';

const MAX_SEARCH_CHARS = 200;

/**
 * The plugin ids that apply to a query: the query's own `pluginIds` when it has the field (it replaces the
 * session's list, even when empty), else the session's.
 */
export function effectivePluginIds(queryPluginIds: unknown, sessionPluginIds: readonly string[]): string[] {
  return Array.isArray(queryPluginIds) ? queryPluginIds.filter((p): p is string => typeof p === 'string') : [...sessionPluginIds];
}

/** The first id the simulator does not know, if any. */
export function unknownPluginId(ids: readonly string[]): string | undefined {
  return ids.find((id) => !Object.hasOwn(SIM_PLUGINS, id));
}

/** Does this list turn on Internet Search? */
export function usesInternetSearch(pluginIds: readonly string[] | undefined): boolean {
  return pluginIds?.includes(INTERNET_SEARCH_PLUGIN_ID) ?? false;
}

/**
 * The web search a run makes for a query: the user's last message (the content of the last `<user>` block of a
 * transcript, else the whole query), whitespace runs as one space, trimmed, cut to 200 code points.
 */
export function searchQueryFor(query: string): string {
  const blocks = [...query.matchAll(/^<user(?:\s[^>\n]*)?>\n([\s\S]*?)\n<\/user>$/gm)];
  const text = blocks.length > 0 ? (blocks[blocks.length - 1]![1] ?? '') : query;
  const flat = text.replace(/\s+/g, ' ').trim();
  const cps = Array.from(flat);
  return cps.length <= MAX_SEARCH_CHARS ? flat : cps.slice(0, MAX_SEARCH_CHARS).join('').trimEnd();
}

export interface CitedSource {
  title: string;
  url: string;
}

/** A URL path segment for a search: lower-case letters and digits, runs of anything else as one hyphen. */
function slugFor(search: string): string {
  const slug = search
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug === '' ? 'search' : slug;
}

/** The three sources a search cites, on reserved example domains; fixed for a given search. */
export function citedSources(search: string): CitedSource[] {
  const slug = slugFor(search);
  return [
    { title: 'Example Encyclopedia', url: `https://www.example.com/wiki/${slug}` },
    { title: 'Example News', url: `https://news.example.org/articles/${slug}` },
    { title: 'Example Data', url: `https://data.example.net/search?q=${slug}` },
  ];
}

/**
 * The answer of a successful Internet Search run. Sources are cited the way the captured answers do, a
 * `Source:` paragraph of markdown links at the end, here with three of them.
 */
export function pluginAnswerText(query: string): string {
  const search = searchQueryFor(query);
  const links = citedSources(search).map((s) => `[${s.title}](${s.url})`);
  return `Here is what a web search for "${search}" found, as the OnDemand simulator's Internet Search reports it.\n\nSources: ${links.join(', ')}`;
}

/** The answer when the plugin fails: the live service writes the plugin's failure into the answer text. */
export function pluginFailureText(query: string): string {
  const search = searchQueryFor(query);
  return `The ${SIM_PLUGINS[INTERNET_SEARCH_PLUGIN_ID]!.title} plugin failed: ${PLUGIN_FAILURE_REASON}. I could not search the web for "${search}", so this answer has no sources.`;
}

/** The answer text a plugin run gives for a query: the failure text under PLUGIN_FAIL_MARKER, else the cited answer. */
export function pluginAnswer(query: string): string {
  return query.includes(PLUGIN_FAIL_MARKER) ? pluginFailureText(query) : pluginAnswerText(query);
}

/** The planner's plan as the planning_output deltas spell it together (compact JSON, as gpt-5.6-sol writes it). */
export function pluginPlanJson(search: string, pluginIds: readonly string[] = [INTERNET_SEARCH_PLUGIN_ID]): string {
  const plugins = pluginIds.map((id) => SIM_PLUGINS[id]?.name ?? id);
  return JSON.stringify({
    objective: `Answer the user's question with current information from the web: ${search}`,
    steps: [{ user_query: `Retrieve up-to-date information on: ${search}`, assistant_query: '', depends: [], plugins }],
  });
}

/** The plugin call as the step_output deltas spell it together: `api_request_parameters.query` is the search. */
export function pluginCallJson(search: string, pluginIds: readonly string[] = [INTERNET_SEARCH_PLUGIN_ID]): string {
  return JSON.stringify({
    plugins: pluginIds.map((pluginId) => ({
      pluginId,
      name: SIM_PLUGINS[pluginId]?.name ?? pluginId,
      description: SIM_PLUGINS[pluginId]?.description ?? '',
      api_request_parameters: { query: search },
      all_parameters_hydrated: true,
      dependencies: [],
      identifier: 'rest_api',
    })),
  });
}
