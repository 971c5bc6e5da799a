/**
 * The gateway's internal request/response model. Every client API (chat completions, legacy completions,
 * Responses, Anthropic Messages) translates into a GatewayRequest and renders GatewayEvents back out, so the
 * pool, routing, usage, reasoning, error and streaming rules are written once (src/core/engine.ts).
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, as OpenAI carries it. */
  arguments: string;
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
  name: string;
  description?: string;
  /** JSON schema of the arguments */
  parameters?: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ClientApi = 'chat' | 'completions' | 'responses' | 'messages';

/**
 * Structured output the client asked for (chat `response_format`, Responses `text.format`); plain text is the
 * absence of one. OnDemand has no such mode, so it is emulated: docs/structured-output.md.
 */
export type ResponseFormat = { type: 'json_object' } | { type: 'json_schema'; name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string };

/** The client's web search switch, in OnDemand's terms (its Internet Search plugin; docs/plugins.md). */
export interface WebSearchOptions {
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
  responseFormat?: ResponseFormat;
  stream: boolean;
  plugins?: PluginRequest;
  /** the per-model default plugin ids (per-model settings), filled in by the model plan */
  modelPlugins?: string[];
  /** the client key's plugin allow list; undefined: any plugin the gateway allows */
  allowedPlugins?: readonly string[];
  /** what goes into the query's pluginIds: set by the engine once checked; absent or empty sends none */
  pluginIds?: string[];
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
