/**
 * The Responses API's tool kinds, as Codex CLI and other agents send them (docs/tools.md):
 *
 * - `function` tools; `namespace` tools group functions and custom tools under a name: the model sees each as
 *   `namespace.name`, and a call comes back as a `function_call` / `custom_tool_call` item with `name` and
 *   `namespace` apart (Codex answers "unsupported call" to anything else);
 * - `custom` tools (freeform, optionally with a grammar, e.g. Codex's `apply_patch` and `exec`): the model writes
 *   plain text, returned as a `custom_tool_call` item's `input`;
 * - `local_shell`: offered as a function taking the command, returned as a `local_shell_call` item;
 * - `tool_search` run by the client (`execution: "client"`): offered as a function, returned as a
 *   `tool_search_call` item; the tools its `tool_search_output` brings join the tool set on the next turn. A
 *   search run by the server has nothing to search here: every tool the request holds is offered directly.
 * - `web_search` switches the web search plugin on (src/core/plugins.ts), unless `external_web_access` is false.
 *
 * Everything else is a 400 naming what is supported. Reading a tool set and rendering a call item live here, so
 * the request reader and the renderer agree on the names.
 */
import type { FreeformInput, ToolCall, ToolSpec, WebSearchOptions } from '../../core/types.js';
import {
  invalidValue,
  isAbsent,
  isObject,
  missing,
  optionalBoolean,
  optionalString,
  quoteList,
  readToolSpec,
  readUserLocation,
  requireString,
  unsupported,
  wrongType,
  type Json,
} from '../validate.js';

/** How a tool the model may call is returned to the client. */
export type ResponsesToolKind =
  | { type: 'function'; name: string; namespace?: string }
  | { type: 'custom'; name: string; namespace?: string }
  | { type: 'local_shell' }
  | { type: 'tool_search' };

export const LOCAL_SHELL_TOOL = 'local_shell';
export const TOOL_SEARCH_TOOL = 'tool_search';

/** The Responses API's web search tool types, current and preview. */
const WEB_SEARCH_TOOLS: ReadonlySet<unknown> = new Set(['web_search', 'web_search_preview', 'web_search_2025_08_26', 'web_search_preview_2025_03_11']);
export const isWebSearchType = (type: unknown): boolean => WEB_SEARCH_TOOLS.has(type);

const SUPPORTED_TOOL_TYPES = ['function', 'custom', 'namespace', 'local_shell', 'tool_search', 'web_search', 'web_search_preview'];

/** `local_shell` as the model sees it: OpenAI's exec action, with the Responses field names. */
const LOCAL_SHELL_SPEC: ToolSpec = {
  name: LOCAL_SHELL_TOOL,
  description: "Runs a command on the user's machine and returns its output.",
  parameters: {
    type: 'object',
    properties: {
      command: { type: 'array', items: { type: 'string' }, description: 'The command and its arguments, e.g. ["ls", "-la"].' },
      working_directory: { type: 'string', description: 'The directory to run it in.' },
      timeout_ms: { type: 'integer', description: 'How long it may run, in milliseconds.' },
      env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Environment variables to set.' },
    },
    required: ['command'],
    additionalProperties: false,
  },
};

const TOOL_SEARCH_DESCRIPTION = 'Searches for more tools by what they do; the tools it finds can be called in the next reply.';
const TOOL_SEARCH_PARAMETERS = { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] };

/**
 * A request's tools as the model sees them (`specs`), how each one's calls go back (`kinds`, by the name the
 * model calls), and the web search switch. Tools come from `tools` and from input items (`additional_tools`,
 * `tool_search_output`); a name already held keeps its first definition.
 */
export class ResponsesToolSet {
  readonly specs: ToolSpec[] = [];
  readonly kinds = new Map<string, ResponsesToolKind>();
  webSearch: WebSearchOptions | undefined;
  /** a web_search tool was offered with live access turned off: the client wants no search */
  webSearchOff = false;

  /** Every tool of a `tools` list at `param`; `allowWebSearch`: only the request's own `tools` may switch it. */
  addList(value: unknown, param: string, allowWebSearch: boolean): void {
    if (isAbsent(value)) return;
    if (!Array.isArray(value)) wrongType(param, 'an array', value);
    value.forEach((tool: unknown, k) => {
      this.add(tool, `${param}[${k}]`, allowWebSearch);
    });
  }

  private add(tool: unknown, param: string, allowWebSearch: boolean): void {
    if (!isObject(tool)) wrongType(param, 'an object', tool);
    const type = tool.type;
    if (isWebSearchType(type)) {
      if (!allowWebSearch) return;
      const read = readWebSearchTool(tool, param);
      if (read === undefined) this.webSearchOff = true;
      else this.webSearch = read;
      return;
    }
    switch (type) {
      case 'function': {
        const spec = readToolSpec(tool, param, 'parameters');
        this.register(spec, { type: 'function', name: spec.name });
        return;
      }
      case 'custom': {
        const spec = readCustomTool(tool, param);
        this.register(spec, { type: 'custom', name: spec.name });
        return;
      }
      case 'namespace':
        this.addNamespace(tool, param);
        return;
      case 'local_shell':
        this.register(LOCAL_SHELL_SPEC, { type: 'local_shell' });
        return;
      case 'tool_search': {
        const execution = optionalString(tool.execution, `${param}.execution`) ?? 'server';
        if (execution !== 'client' && execution !== 'server') invalidValue(`${param}.execution`, `'${execution}'. Supported values are: 'client', 'server'.`);
        if (execution === 'server') return;
        const spec: ToolSpec = { name: TOOL_SEARCH_TOOL, description: optionalString(tool.description, `${param}.description`) ?? TOOL_SEARCH_DESCRIPTION };
        spec.parameters = isObject(tool.parameters) ? tool.parameters : TOOL_SEARCH_PARAMETERS;
        this.register(spec, { type: 'tool_search' });
        return;
      }
      default:
        unsupported(`${param}.type`, `${JSON.stringify(type ?? null)}. Supported tool types are: ${quoteList(SUPPORTED_TOOL_TYPES)}.`);
    }
  }

  /** A namespace's functions and custom tools, each called `namespace.name`. */
  private addNamespace(tool: Json, param: string): void {
    const ns = requireString(tool.name, `${param}.name`);
    const description = optionalString(tool.description, `${param}.description`);
    const group: NonNullable<ToolSpec['namespace']> = description === undefined || description === '' ? { name: ns } : { name: ns, description };
    if (isAbsent(tool.tools)) missing(`${param}.tools`);
    if (!Array.isArray(tool.tools)) wrongType(`${param}.tools`, 'an array', tool.tools);
    tool.tools.forEach((inner: unknown, k) => {
      const at = `${param}.tools[${k}]`;
      if (!isObject(inner)) wrongType(at, 'an object', inner);
      if (inner.type !== 'function' && inner.type !== 'custom') {
        unsupported(`${at}.type`, `${JSON.stringify(inner.type ?? null)}. A namespace holds 'function' and 'custom' tools.`);
      }
      const spec = inner.type === 'function' ? readToolSpec(inner, at, 'parameters') : readCustomTool(inner, at);
      const name = spec.name;
      this.register({ ...spec, name: `${ns}.${name}`, namespace: group }, { type: inner.type, name, namespace: ns });
    });
  }

  private register(spec: ToolSpec, kind: ResponsesToolKind): void {
    if (this.kinds.has(spec.name)) return;
    this.kinds.set(spec.name, kind);
    this.specs.push(spec);
  }
}

/** `{type: "custom", name, description?, format?: {type: "text"} | {type: "grammar", syntax, definition}}` */
function readCustomTool(tool: Json, param: string): ToolSpec {
  const spec: ToolSpec = { name: requireString(tool.name, `${param}.name`), freeform: readFreeformFormat(tool.format, `${param}.format`) };
  const description = optionalString(tool.description, `${param}.description`);
  if (description !== undefined) spec.description = description;
  return spec;
}

function readFreeformFormat(value: unknown, param: string): FreeformInput {
  if (isAbsent(value)) return { type: 'text' };
  if (!isObject(value)) wrongType(param, 'an object', value);
  if (value.type === 'text') return { type: 'text' };
  if (value.type !== 'grammar') invalidValue(`${param}.type`, `${JSON.stringify(value.type ?? null)}. Supported values are: 'text', 'grammar'.`);
  return { type: 'grammar', syntax: requireString(value.syntax, `${param}.syntax`), definition: requireString(value.definition, `${param}.definition`) };
}

/**
 * `{type: "web_search", external_web_access?, search_context_size?, user_location?, search_content_types?}`:
 * undefined when live access is off (nothing to run); domain filters cannot be honoured upstream, so they are
 * refused. An offered tool is not a demand: whether it runs is the plugin policy's call (src/core/plugins.ts).
 */
function readWebSearchTool(tool: Json, param: string): WebSearchOptions | undefined {
  if (optionalBoolean(tool.external_web_access, `${param}.external_web_access`) === false) return undefined;
  const out: WebSearchOptions = { mode: 'offered' };
  const size = optionalString(tool.search_context_size, `${param}.search_context_size`);
  if (size !== undefined) {
    if (size !== 'low' && size !== 'medium' && size !== 'high') invalidValue(`${param}.search_context_size`, `'${size}'. Supported values are: 'low', 'medium', 'high'.`);
    out.contextSize = size;
  }
  const location = readUserLocation(tool.user_location, `${param}.user_location`);
  if (location !== undefined) out.userLocation = location;
  if (isObject(tool.filters) && !isAbsent(tool.filters.allowed_domains)) {
    unsupported(`${param}.filters.allowed_domains`, "OnDemand's Internet Search takes no domain list.");
  }
  return out;
}

// ---- calls in the input (earlier turns) ----------------------------------------------------------------------

/** The name the model knows a (possibly namespaced) tool by. */
export const modelToolName = (name: string, namespace: unknown): string => (typeof namespace === 'string' && namespace !== '' ? `${namespace}.${name}` : name);

/** A `local_shell_call` item's action as the arguments of the `local_shell` function the model sees. */
export function localShellArguments(action: unknown, param: string): string {
  if (!isObject(action)) wrongType(param, 'an object', action);
  const args: Json = { command: Array.isArray(action.command) ? action.command : [] };
  if (typeof action.working_directory === 'string') args.working_directory = action.working_directory;
  if (typeof action.timeout_ms === 'number') args.timeout_ms = action.timeout_ms;
  if (isObject(action.env) && Object.keys(action.env).length > 0) args.env = action.env;
  return JSON.stringify(args);
}

/** What a client-run tool search found, as the tool result the model reads. */
export function toolSearchResultText(found: readonly string[]): string {
  if (found.length === 0) return 'No tools found.';
  return `Found ${found.length} tool${found.length === 1 ? '' : 's'}, now in the tools section: ${found.join(', ')}`;
}

// ---- calls in the output --------------------------------------------------------------------------------------

/** The item id prefix of a call of this kind. */
export function callItemPrefix(kind: ResponsesToolKind | undefined): string {
  switch (kind?.type) {
    case 'custom':
      return 'ctc_';
    case 'local_shell':
      return 'lsh_';
    case 'tool_search':
      return 'tsc_';
    default:
      return 'fc_';
  }
}

/** A call as the output item of its kind; `in_progress` items carry no arguments or input yet. */
export function toolCallItem(id: string, call: ToolCall, kind: ResponsesToolKind | undefined, status: 'in_progress' | 'completed'): Json {
  const done = status === 'completed';
  switch (kind?.type) {
    case 'custom': {
      const item: Json = { id, type: 'custom_tool_call', status, call_id: call.id, name: kind.name, input: done ? call.arguments : '' };
      if (kind.namespace !== undefined) item.namespace = kind.namespace;
      return item;
    }
    case 'local_shell':
      return { id, type: 'local_shell_call', status, call_id: call.id, action: localShellAction(call.arguments) };
    case 'tool_search':
      return { id, type: 'tool_search_call', status, call_id: call.id, execution: 'client', arguments: done ? parseObject(call.arguments) : {} };
    default: {
      const item: Json = { id, type: 'function_call', status, arguments: done ? call.arguments : '', call_id: call.id, name: kind?.name ?? call.name };
      if (kind?.type === 'function' && kind.namespace !== undefined) item.namespace = kind.namespace;
      return item;
    }
  }
}

function parseObject(text: string): Json {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : {};
  } catch {
    return {};
  }
}

/** The `local_shell` function's arguments (validated against its schema) as OpenAI's exec action. */
function localShellAction(args: string): Json {
  const a = parseObject(args);
  return {
    type: 'exec',
    command: Array.isArray(a.command) ? a.command : [],
    timeout_ms: typeof a.timeout_ms === 'number' ? a.timeout_ms : null,
    working_directory: typeof a.working_directory === 'string' ? a.working_directory : null,
    env: isObject(a.env) ? a.env : {},
    user: null,
  };
}
