/**
 * What the spans say, as plain attribute maps (src/observability/tracing.ts puts them on the spans): the
 * OpenTelemetry GenAI semantic conventions for the model call, the HTTP ones for the request, and the gateway's
 * own (`gateway.*`, `ondemand.*`) for what neither covers. Pure, tested as tables in genai-attributes.test.ts.
 *
 * The GenAI names are still "development" in the conventions, whose authors advise copying them rather than
 * importing the incubating package; they follow semantic-conventions 1.37 (gen_ai.provider.name, the structured
 * gen_ai.input.messages / gen_ai.output.messages).
 */
import { judgeKey } from '../core/failure-policy.js';
import type { AttemptStart, CallOutcome } from '../core/ports.js';
import type { CollectedEvents } from '../core/answer.js';
import type { ClientApi, GatewayRequest, Message, Usage } from '../core/types.js';

export type AttributeValue = string | number | boolean | string[];
export type SpanAttributes = Record<string, AttributeValue>;

/** gen_ai.provider.name (and the older gen_ai.system, which many backends still read) */
export const PROVIDER_NAME = 'ondemand';
/** every upstream call is OnDemand's chat query, whatever API the client spoke */
const UPSTREAM_OPERATION = 'chat';

/** gen_ai.operation.name for each client API (the conventions' well-known values) */
export function operationName(api: ClientApi): string {
  switch (api) {
    case 'completions':
      return 'text_completion';
    case 'gemini':
      return 'generate_content';
    default:
      return 'chat';
  }
}

/** `{gen_ai.operation.name} {gen_ai.request.model}`, the conventions' span name */
export function completionSpanName(req: Pick<GatewayRequest, 'api' | 'requestedModel'>): string {
  return `${operationName(req.api)} ${req.requestedModel}`;
}

/** What the request span learns once the request is parsed: the operation, the model asked for, the parameters. */
export function completionAttributes(req: GatewayRequest): SpanAttributes {
  const attrs: SpanAttributes = {
    'gen_ai.operation.name': operationName(req.api),
    'gen_ai.provider.name': PROVIDER_NAME,
    'gen_ai.system': PROVIDER_NAME,
    'gen_ai.request.model': req.requestedModel,
    'gateway.api': req.api,
    'gateway.stream': req.stream,
  };
  const p = req.params;
  if (p.maxTokens !== undefined) attrs['gen_ai.request.max_tokens'] = p.maxTokens;
  if (p.temperature !== undefined) attrs['gen_ai.request.temperature'] = p.temperature;
  if (p.topP !== undefined) attrs['gen_ai.request.top_p'] = p.topP;
  if (p.stop !== undefined && p.stop.length > 0) attrs['gen_ai.request.stop_sequences'] = p.stop;
  if (p.presencePenalty !== undefined) attrs['gen_ai.request.presence_penalty'] = p.presencePenalty;
  if (p.frequencyPenalty !== undefined) attrs['gen_ai.request.frequency_penalty'] = p.frequencyPenalty;
  return attrs;
}

/** The facts of a finished request the span reads (src/http/app.ts, RequestRecord). */
export interface RequestFacts {
  answeredBy?: string | undefined;
  endpoint?: string | undefined;
  attempts?: number | undefined;
  usage?: Usage | undefined;
  finishReason?: string | undefined;
  outcome?: string | undefined;
  errorCode?: string | undefined;
  clientName?: string | undefined;
}

/** What the request span says once the response is done. */
export function requestEndAttributes(facts: RequestFacts, status: number): SpanAttributes {
  const attrs: SpanAttributes = { 'http.response.status_code': status };
  if (facts.answeredBy !== undefined) attrs['gen_ai.response.model'] = facts.answeredBy;
  if (facts.usage !== undefined) {
    attrs['gen_ai.usage.input_tokens'] = facts.usage.inputTokens;
    attrs['gen_ai.usage.output_tokens'] = facts.usage.outputTokens;
    attrs['gateway.usage.estimated'] = facts.usage.estimated;
  }
  if (facts.finishReason !== undefined) attrs['gen_ai.response.finish_reasons'] = [facts.finishReason];
  if (facts.endpoint !== undefined) attrs['ondemand.endpoint_id'] = facts.endpoint;
  if (facts.attempts !== undefined) attrs['gateway.attempts'] = facts.attempts;
  if (facts.outcome !== undefined) attrs['gateway.outcome'] = facts.outcome;
  if (facts.clientName !== undefined) attrs['gateway.client'] = facts.clientName;
  const error = requestErrorType(facts, status);
  if (error !== undefined) attrs['error.type'] = error;
  return attrs;
}

/** error.type: the gateway's error code, else the status of a failed response (undefined: it did not fail) */
function requestErrorType(facts: RequestFacts, status: number): string | undefined {
  if (facts.errorCode !== undefined) return facts.errorCode;
  if (status >= 400) return String(status);
  return facts.outcome === 'error' ? 'stream_error' : undefined;
}

/** A server span is an error for a 5xx, or for an answer that failed after its 200 (HTTP conventions: 4xx are not). */
export function requestFailed(facts: RequestFacts, status: number): boolean {
  return status >= 500 || facts.outcome === 'error';
}

export interface HttpRequestView {
  method: string;
  /** the route's pattern, e.g. /v1/chat/completions; undefined for an unmatched URL */
  route: string | undefined;
  /** the path, already redacted, without the query */
  path: string;
  clientAddress: string;
  userAgent: string | undefined;
  httpVersion: string;
}

/** `{method} {route}`: the HTTP conventions' server span name, until a completion names it */
export function httpSpanName(view: Pick<HttpRequestView, 'method' | 'route'>): string {
  return view.route === undefined ? view.method : `${view.method} ${view.route}`;
}

export function httpRequestAttributes(view: HttpRequestView): SpanAttributes {
  const attrs: SpanAttributes = {
    'http.request.method': view.method,
    'url.path': view.path,
    'url.scheme': 'http',
    'client.address': view.clientAddress,
    'network.protocol.version': view.httpVersion,
  };
  if (view.route !== undefined) attrs['http.route'] = view.route;
  if (view.userAgent !== undefined) attrs['user_agent.original'] = view.userAgent;
  return attrs;
}

/** `chat {endpointId}`: the upstream call's span name, by the conventions' rule */
export function attemptSpanName(start: Pick<AttemptStart, 'endpointId'>): string {
  return `${UPSTREAM_OPERATION} ${start.endpointId}`;
}

/** An attempt span's attributes at its start; `upstream` is OnDemand's origin (server.address, server.port). */
export function attemptAttributes(start: AttemptStart, upstream: URL): SpanAttributes {
  return {
    'gen_ai.operation.name': UPSTREAM_OPERATION,
    'gen_ai.provider.name': PROVIDER_NAME,
    'gen_ai.system': PROVIDER_NAME,
    'gen_ai.request.model': start.endpointId,
    'gateway.model': start.model,
    'gateway.attempt.number': start.number,
    'gateway.key.fingerprint': start.keyFingerprint,
    'server.address': upstream.hostname,
    'server.port': upstream.port === '' ? (upstream.protocol === 'https:' ? 443 : 80) : Number(upstream.port),
  };
}

export interface AttemptEnd {
  attributes: SpanAttributes;
  /** the span's error status message; undefined: not an error (a success, or the client hung up) */
  error: string | undefined;
}

/** How an attempt ended, as the failure policy judges it (the class the key pool acts on). */
export function attemptEnd(outcome: CallOutcome): AttemptEnd {
  if (outcome.ok) return { attributes: { 'gateway.attempt.outcome': 'ok' }, error: undefined };
  const f = outcome.failure;
  const judged = judgeKey(f);
  const clientClosed = f.kind === 'client_aborted';
  const attributes: SpanAttributes = {
    'gateway.attempt.outcome': clientClosed ? 'client_closed' : 'failed',
    'gateway.failure.class': judged.cls,
    'gateway.failure.reason': judged.reason,
    'gateway.failure.phase': f.phase,
    'error.type': f.kind === 'http' && f.status !== undefined ? String(f.status) : f.kind,
  };
  if (f.status !== undefined) attributes['http.response.status_code'] = f.status;
  if (f.errorCode !== undefined) attributes['ondemand.error_code'] = f.errorCode;
  return { attributes, error: clientClosed ? undefined : judged.reason };
}

// ---- message content (only when the operator opts in: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT) -----

type Part = Record<string, string>;

/** gen_ai.input.messages: the conversation as the conventions' JSON (media by kind and URL, never their bytes) */
export function inputMessages(messages: readonly Message[]): string {
  return JSON.stringify(
    messages.map((m) => {
      const parts: Part[] = [];
      if (m.role === 'tool') parts.push({ type: 'tool_call_response', id: m.toolCallId ?? '', response: m.content });
      else if (m.content !== '') parts.push({ type: 'text', content: m.content });
      for (const media of m.media ?? []) parts.push(mediaPart(media.kind, media.url, media.mimeType));
      for (const call of m.toolCalls ?? []) parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: call.arguments });
      return { role: m.role, parts };
    }),
  );
}

function mediaPart(kind: string, url: string, mimeType: string | undefined): Part {
  const part: Part = { type: 'uri', modality: kind };
  if (mimeType !== undefined) part['mime_type'] = mimeType;
  // an inline data: URL is the file itself: its bytes stay out of the trace
  part['uri'] = url.startsWith('data:') ? 'data:' : url;
  return part;
}

/** gen_ai.output.messages: the answer as the client got it */
export function outputMessages(answer: Pick<CollectedEvents, 'text' | 'reasoning' | 'toolCalls' | 'finishReason'>): string {
  const parts: Part[] = [];
  if (answer.reasoning !== '') parts.push({ type: 'reasoning', content: answer.reasoning });
  if (answer.text !== '') parts.push({ type: 'text', content: answer.text });
  for (const call of answer.toolCalls) parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: call.arguments });
  return JSON.stringify([{ role: 'assistant', parts, finish_reason: answer.finishReason ?? 'error' }]);
}
