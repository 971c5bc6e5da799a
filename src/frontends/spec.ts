/**
 * A front end is one spec: the paths of its completion route, how its body becomes the gateway's own request,
 * the answer's projection for that request (stream encoder and whole answer), its error shape and how its clients
 * present a key. The runner (runner.ts) serves every spec alike: parse, check the limits on the parsed request,
 * run the engine, write the answer. The specs are listed once, in frontends/index.ts.
 */
import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import type { SessionContinuation } from '../core/engine.js';
import type { MessageOrigins } from '../core/limits.js';
import type { GatewayRequest } from '../core/types.js';
import type { ErrorRenderer } from '../http/errors.js';
import type { CompletionHandle } from '../core/engine.js';
import type { GatewayError } from '../core/errors.js';
import type { GatewayEvent } from '../core/types.js';
import type { RequestLimits } from '../core/limits.js';

/** The front end's streaming half: turns engine events into its wire format. */
export interface StreamEncoder {
  /** bytes to send before the first event (e.g. Anthropic's message_start), may be '' */
  start?(): string;
  /** a promise only where the front end must finish something first (the stored-state step saves before the end) */
  encode(event: GatewayEvent): string | Promise<string>;
  /** an error after the stream started */
  error(err: GatewayError): string;
  /** the stream's last bytes (e.g. `data: [DONE]`) */
  done(): string;
  /** what a quiet stream writes to stay alive; absent: a `: ping` comment (Gemini's clients stall on comments) */
  ping?: string;
}

import type { WholeAnswer } from './answer-lifecycle.js';

export interface FrontEnd {
  streamEncoder(handle: CompletionHandle): StreamEncoder;
  /** the body, from the parts the stream encoder would write (src/frontends/answer-lifecycle.ts); a promise only where the front end must finish something first */
  render(answer: WholeAnswer, handle: CompletionHandle): unknown;
}

/** What a front end hands the runner for one request: a completion to run, or an answer of its own. */
export type FrontEndTurn = CompletionTurn | LocalAnswer;

/** A completion for the engine to run. */
export interface CompletionTurn {
  /** the request the engine runs (Responses: with the stored turns before it) */
  request: GatewayRequest;
  /** how the answer is written back: stream encoder and whole answer */
  answer: FrontEnd;
  /** an upstream session that saw the earlier turns (stored responses) */
  continuation?: SessionContinuation | undefined;
}

/** A body the front end answers without the engine, once the limits passed (Gemini's countTokens, which shares the path). */
export interface LocalAnswer {
  local: unknown;
}

export interface FrontEndSpec<Parsed extends { request: GatewayRequest }> {
  /** the API's name, for the README and logs */
  name: string;
  /** the POST paths of its completion route */
  paths: readonly string[];
  /** the API's error body; absent: OpenAI's */
  renderError?: ErrorRenderer | undefined;
  /** the 401 for a request without a key, naming the header this API's clients send; absent: the OpenAI wording */
  missingKeyMessage?: string | undefined;
  /** whether a request holds a stream open (MAX_STREAMS_PER_CLIENT), where the API says so outside the body; absent: `stream: true` */
  opensStream?: ((request: FastifyRequest) => boolean) | undefined;
  /**
   * the body → the gateway's own request; notes in `origins` where each message came from (for the limits). The
   * HTTP request is there for an API that names the model or the stream in the URL (Gemini).
   */
  parse(body: unknown, origins: MessageOrigins, request: FastifyRequest): Parsed;
  /** the answer's projection for this request; a promise where something is read first (stored responses) */
  turn(parsed: Parsed, request: FastifyRequest): FrontEndTurn | Promise<FrontEndTurn>;
  /** the API's other routes (Anthropic's count_tokens, Gemini's model list), with the same route config */
  extraRoutes?(app: FastifyInstance, limits: RequestLimits, config: FastifyContextConfig): void;
}

/** A spec with its parsed type closed over, so specs of different APIs share one list. */
export interface RegisteredFrontEnd {
  name: string;
  paths: readonly string[];
  /** the route config of its paths: error shape, missing-key wording, stream test (src/http/errors.ts) */
  config: FastifyContextConfig;
  /** parse → the runner's checks → the turn; `check` runs on the parsed request before anything else */
  turn(body: unknown, origins: MessageOrigins, request: FastifyRequest, check: (req: GatewayRequest) => void): Promise<FrontEndTurn>;
  extraRoutes: ((app: FastifyInstance, limits: RequestLimits, config: FastifyContextConfig) => void) | undefined;
}

export function defineFrontEnd<Parsed extends { request: GatewayRequest }>(spec: FrontEndSpec<Parsed>): RegisteredFrontEnd {
  const config: FastifyContextConfig = {};
  if (spec.renderError !== undefined) config.renderError = spec.renderError;
  if (spec.missingKeyMessage !== undefined) config.missingKeyMessage = spec.missingKeyMessage;
  if (spec.opensStream !== undefined) config.opensStream = spec.opensStream;
  return {
    name: spec.name,
    paths: spec.paths,
    config,
    turn: async (body, origins, request, check) => {
      const parsed = spec.parse(body, origins, request);
      check(parsed.request);
      return spec.turn(parsed, request);
    },
    extraRoutes: spec.extraRoutes?.bind(spec),
  };
}
