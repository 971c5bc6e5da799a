/**
 * The gateway's internal request/response model. Every client API (chat completions, legacy completions,
 * Responses, Anthropic Messages) translates into a GatewayRequest and renders GatewayEvents back out, so the
 * pool, routing, usage, reasoning, error and streaming rules are written once (src/core/engine.ts).
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as OpenAI carries it; for a freeform tool, the raw text the model wrote. */
  arguments: string;
  /** a call of a freeform tool (ToolSpec.freeform): `arguments` is its plain-text input, not JSON */
  freeform?: boolean;
}

/** Non-text content a message carries (images, files, audio). The media step uploads these (src/core/media.ts). */
export interface MediaPart {
  kind: 'image' | 'file' | 'audio';
  /** http(s) or data: URL */
  url: string;
  mimeType?: string;
  name?: string;
}

export interface Message {
  role: Role;
  /** The text of the message; parts of an array content joined with "\n". */
  content: string;
  name?: string;
  media?: MediaPart[];
  /** assistant turns that called tools */
  toolCalls?: ToolCall[];
  /** tool turns: which call this answers */
  toolCallId?: string;
  /** assistant turns: the model's own earlier reasoning, only as the gateway itself vouched for it (docs/tools.md) */
  reasoning?: string;
}

export type ReasoningEffort = 'low' | 'medium' | 'max';

/** Sampling parameters, already validated and in OnDemand's terms. */
export interface GenerationParams {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  presencePenalty?: number;
  frequencyPenalty?: number;
  reasoningEffort?: ReasoningEffort;
}

export interface ToolSpec {
  /** the name the model calls it by; a tool in a namespace is `namespace.name` */
  name: string;
  description?: string;
  /** JSON schema of the arguments */
  parameters?: Record<string, unknown>;
  /** a freeform tool: its input is plain text the model writes, not JSON arguments (Responses `custom` tools) */
  freeform?: FreeformInput;
  /** the group the tool belongs to (Responses `namespace` tools), shown to the model once before its tools */
  namespace?: { name: string; description?: string };
}

/** What a freeform tool's input must look like: any text, or text a grammar accepts (shown to the model, not checked). */
export type FreeformInput = { type: 'text' } | { type: 'grammar'; syntax: string; definition: string };

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Which front end parsed a request: a label for logs and tests; the core never branches on it. */
export type ClientApi = string;

/**
 * Structured output the client asked for (chat `response_format`, Responses `text.format`); plain text is the
 * absence of one. OnDemand has no such mode, so it is emulated: docs/structured-output.md.
 */
export type ResponseFormat = { type: 'json_object' } | { type: 'json_schema'; name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string };

/** The client's web search switch, in OnDemand's terms (its Internet Search plugin; docs/plugins.md). */
export interface WebSearchOptions {
  /**
   * How the client asked: `offered` a tool the model may use (Responses `web_search`, Anthropic's server tool),
   * or `required` it (chat's `web_search_options`, a tool_choice naming the search). Absent: required. Whether an
   * offered search runs is the operator's choice (WEB_SEARCH_WHEN_OFFERED, src/core/plugins.ts).
   */
  mode?: 'offered' | 'required';
  /** chat's search_context_size: accepted, OnDemand has no such knob */
  contextSize?: 'low' | 'medium' | 'high';
  /** the user's approximate location, given to the model as a line of the query */
  userLocation?: { city?: string; region?: string; country?: string; timezone?: string };
}

/** The plugins a request asks for, before the engine checks and resolves them to ids (src/core/plugins.ts). */
export interface PluginRequest {
  /** the client asked for a web search in its API's own way */
  webSearch?: WebSearchOptions;
  /** OnDemand plugin ids from the request's extension field (`ondemand_plugins`) */
  ids?: string[];
}

export interface GatewayRequest {
  api: ClientApi;
  /** The model name exactly as the client sent it; echoed back in responses. */
  requestedModel: string;
  messages: Message[];
  params: GenerationParams;
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  /** false: at most one tool call per answer (OpenAI's parallel_tool_calls); absent or true: any number */
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  stream: boolean;
  plugins?: PluginRequest;
  /** the per-model default plugin ids (per-model settings), filled in by the model plan */
  modelPlugins?: string[];
  /** the client key's plugin allow list; undefined: any plugin the gateway allows */
  allowedPlugins?: readonly string[];
  /** what goes into the query's pluginIds: set by the engine once checked; absent or empty sends none */
  pluginIds?: string[];
  // what differs per client API, as data its front end sets (the core knows no API by name)
  /** the prefix of the tool-call ids the gateway makes (Anthropic's `toolu_`); default `call_` */
  toolCallIdPrefix?: string | undefined;
  /** false: max_tokens counts only the text (the legacy completions API shows no reasoning); default true */
  reasoningInMaxTokens?: boolean | undefined;
  /** the field a refused web search is named by (chat's `web_search_options`); default `tools` */
  webSearchParam?: string | undefined;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** true when counted locally with a tokenizer because the upstream gave no metricsLog */
  estimated: boolean;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** A plugin OnDemand's planner called, as its step frames tell it. */
export interface PluginCall {
  pluginId: string;
  /** the plugin's function name, e.g. fetchInternetData */
  name: string;
  /** the search it ran; undefined when the call had no query */
  query: string | undefined;
  /** the plugin is the web search plugin (WEB_SEARCH_PLUGIN_ID): front ends show it as their web search call */
  webSearch: boolean;
}

/** A URL the answer's text cites; indices are UTF-16 offsets into the answer text, end exclusive. */
export interface UrlCitation {
  url: string;
  /** the link text when the answer gives one, else the URL */
  title: string;
  startIndex: number;
  endIndex: number;
}

/** What the engine emits for one completion, in order: text/reasoning deltas, then usage, then end. */
export type GatewayEvent =
  | { type: 'text'; text: string }
  /** a plugin started (before any answer text); the answer that follows used its results */
  | { type: 'plugin_call'; call: PluginCall }
  /** the URLs the whole answer cites: once, just before `end`, only for a web search request */
  | { type: 'citations'; citations: UrlCitation[] }
  | { type: 'reasoning'; text: string }
  | { type: 'tool_calls'; calls: ToolCall[] }
  | { type: 'usage'; usage: Usage }
  | { type: 'end'; finishReason: FinishReason };
