/**
 * The stored-state step around POST /v1/responses: before the engine, the earlier turns a request continues
 * (`previous_response_id`: the chain of stored responses; `conversation`: the conversation's items) go before its
 * own input, so the model sees what it would have seen had the client sent it all; after the answer, the turn is
 * kept (`store`, default true) and appended to its conversation. The store never holds a key: records belong to
 * a hash of the client key (stored-items.ts, `ownerOf`).
 *
 * OnDemand sessions keep a conversation's memory. With SESSION_CONTINUATION, a turn that continues a stored turn
 * whose session is still its head (no other turn continued it, nobody edited the conversation since) asks the
 * engine to send only its new messages into that session; the engine replays everything into a fresh session
 * when that key cannot serve or the attempt fails (src/core/engine.ts, SessionContinuation).
 */
import type { WarnLog } from '../../core/events.js';
import type { CompletionHandle, SessionContinuation } from '../../core/engine.js';
import { GatewayError, invalidRequest } from '../../core/errors.js';
import type { GatewayRequest, Message } from '../../core/types.js';
import type { FrontEnd } from '../spec.js';
import type { ConversationRecord, ConversationStateStore, StoredItem } from '../../store/types.js';
import { isObject, type Json } from '../validate.js';
import { createResponsesEncoder, renderResponse, type ResponseInit } from './render.js';
import { readInput, type ParsedResponsesRequest } from './request.js';
import {
  conversationNotFound,
  inputItems,
  parseSession,
  parseStoredItem,
  parseTurn,
  previousResponseNotFound,
  sessionName,
  turnItems,
  type SessionRef,
  type StoredTurn,
} from './stored-items.js';

export interface StoredStateSettings {
  /** RESPONSES_STORE: false keeps nothing, and previous_response_id and conversation are refused */
  enabled: boolean;
  /** RESPONSES_MAX_BYTES: a turn bigger than this (its JSON) is answered but not kept */
  maxBytes: number;
  /** SESSION_CONTINUATION: continue OnDemand's session instead of replaying the transcript, where it can */
  continueSessions: boolean;
}

/** What the step reports for the metrics. */
export interface StoredStateObserver {
  /** a turn was kept (`ok`), refused for its size (`too_large`) or lost to a store failure (`error`) */
  saved(kind: 'response' | 'conversation', outcome: 'ok' | 'too_large' | 'error'): void;
  /** a turn that could continue a session: continued it, or replayed (the head was taken, or the engine chose another key) */
  continuation(outcome: 'continued' | 'replayed'): void;
}

/** One request's turn: the request with its history, the continuation to try, and the front end that keeps it. */
export interface Turn {
  request: GatewayRequest;
  continuation: SessionContinuation | undefined;
  /** `base` with the finished response object kept before the client sees its end */
  frontEnd(init: ResponseInit): FrontEnd;
}

/** What the step knows of the turn it prepares. */
interface Context {
  id: string;
  owner: string;
  input: Json[];
  ancestors: string[];
  conversation: ConversationRecord | undefined;
  store: boolean;
  /** a session could have been continued */
  couldContinue: boolean;
  log: WarnLog;
}

export class StoredStateStep {
  constructor(
    private readonly store: ConversationStateStore,
    private readonly settings: StoredStateSettings,
    private readonly observer?: StoredStateObserver,
  ) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Loads what the request continues (throws OpenAI's not-found errors) and says how to keep the turn. */
  async begin(parsed: ParsedResponsesRequest, id: string, owner: string, log: WarnLog): Promise<Turn> {
    const e = parsed.echo;
    if (!this.settings.enabled) {
      for (const [param, value] of [
        ['previous_response_id', e.previousResponseId],
        ['conversation', e.conversationId],
      ] as const) {
        if (value !== null) throw storageOff(param);
      }
      e.store = false;
      return { request: parsed.request, continuation: undefined, frontEnd: (init) => plainFrontEnd(init) };
    }
    let history: Json[] = [];
    let ancestors: string[] = [];
    let session: SessionRef | undefined;
    let head: string | undefined;
    let conversation: ConversationRecord | undefined;
    let taken: ReadonlySet<string> = new Set();
    if (e.previousResponseId !== null) {
      const previous = e.previousResponseId;
      const [record] = await this.store.getResponses([previous], owner);
      const turn = record === undefined ? undefined : parseTurn(record.body);
      if (turn === undefined) throw previousResponseNotFound(previous);
      ancestors = [...turn.ancestors, previous];
      // an ancestor deleted (or expired) meanwhile leaves its turn out
      const older = turn.ancestors.length === 0 ? [] : await this.store.getResponses(turn.ancestors, owner);
      for (const r of older) {
        const t = parseTurn(r.body);
        if (t !== undefined) history.push(...turnItems(t));
      }
      history.push(...turnItems(turn));
      session = turn.session;
      head = previous;
    } else if (e.conversationId !== null) {
      const cid = e.conversationId;
      conversation = await this.store.getConversation(cid, owner);
      const items = conversation === undefined ? undefined : await this.store.listItems(cid, owner);
      if (conversation === undefined || items === undefined) throw conversationNotFound(cid);
      history = items.flatMap((item) => parseStoredItem(item));
      taken = new Set(items.map((item) => item.id));
      session = parseSession(conversation.session);
      head = `${cid}@${conversation.version}`;
    }
    const input = inputItems(parsed.input, taken);
    const ctx: Context = { id, owner, input, ancestors, conversation, store: e.store, couldContinue: false, log };
    if (history.length === 0) return this.turn(ctx, parsed.request, undefined);

    const { request, seen } = withHistory(parsed, history, input);
    let continuation: SessionContinuation | undefined;
    if (this.settings.continueSessions && session !== undefined && head !== undefined && seen !== undefined) {
      ctx.couldContinue = true;
      // the head moves to this turn: a second turn from the same point replays instead of sharing the session
      if (await this.store.claimSession(sessionName(session), head, id)) continuation = { keyFingerprint: session.key, sessionId: session.id, seen };
    }
    return this.turn(ctx, request, continuation);
  }

  private turn(ctx: Context, request: GatewayRequest, continuation: SessionContinuation | undefined): Turn {
    return {
      request,
      continuation,
      frontEnd: (init) => ({
        streamEncoder: (handle) => {
          let final: Json | undefined;
          const encoder = createResponsesEncoder({ ...init, onFinal: (response) => (final = response) });
          return {
            start: () => encoder.start?.() ?? '',
            encode: (event) => {
              const text = encoder.encode(event);
              if (event.type !== 'end' || final === undefined) return text;
              // kept before the client reads the end: it may continue from this response at once
              return this.save(ctx, final, handle).then(() => text as string);
            },
            error: (err) => encoder.error(err),
            done: () => encoder.done(),
          };
        },
        render: async (answer, handle) => {
          const response = renderResponse(init, answer);
          await this.save(ctx, response, handle);
          return response;
        },
      }),
    };
  }

  /** Keeps the turn; never throws (the answer goes out either way, the failure is logged and counted). */
  private async save(ctx: Context, response: Json, handle: CompletionHandle): Promise<void> {
    const session: SessionRef = { key: handle.keyFingerprint, id: handle.sessionId };
    if (ctx.couldContinue) this.observer?.continuation(handle.continuedSession ? 'continued' : 'replayed');
    const continueSessions = this.settings.continueSessions;
    const output = Array.isArray(response.output) ? response.output.filter(isObject) : [];
    let head = ctx.id;
    if (ctx.conversation !== undefined) {
      const c = ctx.conversation;
      const items: StoredItem[] = [...ctx.input, ...output].map((item) => ({ id: String(item.id), json: JSON.stringify(item) }));
      const bytes = items.reduce((n, item) => n + Buffer.byteLength(item.json), 0);
      if (bytes > this.settings.maxBytes) {
        this.tooLarge('conversation', ctx, bytes);
      } else {
        try {
          const version = await this.store.appendItems(c.id, ctx.owner, { items, session: continueSessions ? { json: JSON.stringify(session), ifVersion: c.version } : undefined });
          // deleted meanwhile: nothing to append to
          this.observer?.saved('conversation', 'ok');
          if (version !== undefined) head = `${c.id}@${version}`;
        } catch (err) {
          this.failed('conversation', ctx, err);
        }
      }
    }
    if (ctx.store) {
      const turn: StoredTurn = { response, input: ctx.input, ancestors: ctx.ancestors, session };
      const body = JSON.stringify(turn);
      const bytes = Buffer.byteLength(body);
      if (bytes > this.settings.maxBytes) {
        this.tooLarge('response', ctx, bytes);
      } else {
        try {
          await this.store.putResponse({ id: ctx.id, owner: ctx.owner, createdAt: Date.now(), body });
          this.observer?.saved('response', 'ok');
        } catch (err) {
          this.failed('response', ctx, err);
        }
      }
    }
    if (!continueSessions) return;
    try {
      await this.store.setSessionHead(sessionName(session), head);
    } catch (err) {
      ctx.log.warn({ err: err instanceof Error ? err.message : err }, 'stored state: remembering the upstream session failed; the next turn replays');
    }
  }

  private tooLarge(kind: 'response' | 'conversation', ctx: Context, bytes: number): void {
    this.observer?.saved(kind, 'too_large');
    ctx.log.warn({ response: ctx.id, bytes, max: this.settings.maxBytes }, `stored state: the turn is larger than RESPONSES_MAX_BYTES; this ${kind} is not kept`);
  }

  private failed(kind: 'response' | 'conversation', ctx: Context, err: unknown): void {
    this.observer?.saved(kind, 'error');
    ctx.log.warn({ response: ctx.id, err: err instanceof Error ? err.message : err }, `stored state: keeping the ${kind} failed`);
  }
}

/** The front end of a turn that keeps nothing. */
export function plainFrontEnd(init: ResponseInit): FrontEnd {
  return {
    streamEncoder: () => createResponsesEncoder(init),
    render: (answer) => renderResponse(init, answer),
  };
}

/**
 * The request's messages with the earlier turns before its own input: the instructions (this request's only: a
 * previous response's instructions are not carried over, as OpenAI does), then the history and the input read as
 * one list of items, so a tool result finds its call. `seen` is the history's messages, for a continued session;
 * undefined when the history's last message and the input's first merged into one (nothing to leave out cleanly).
 */
export function withHistory(parsed: ParsedResponsesRequest, history: Json[], input: Json[]): { request: GatewayRequest; seen: ReadonlySet<Message> | undefined } {
  // the request's own reader: tools the history brought join the request's, reasoning it sealed opens
  const messages = parsed.readInput([...history, ...input]);
  const before = messagesIn(history);
  const own = messagesIn(input);
  nameToolResults(messages);
  const seen = before > 0 && before + own === messages.length ? new Set(messages.slice(0, before)) : undefined;
  const instructions = parsed.echo.instructions;
  if (instructions !== null && instructions !== '') messages.unshift({ role: 'system', content: instructions });
  return { request: { ...parsed.request, messages }, seen };
}

/** How many messages these items make on their own (0 when none: reasoning alone, or nothing). */
function messagesIn(items: Json[]): number {
  if (items.length === 0) return 0;
  try {
    return readInput(items).length;
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'empty_array') return 0;
    throw err;
  }
}

/** A tool result names its tool, taken from the call: a continued session's query no longer holds the call. */
function nameToolResults(messages: Message[]): void {
  const names = new Map<string, string>();
  for (const m of messages) {
    for (const call of m.toolCalls ?? []) names.set(call.id, call.name);
    if (m.role === 'tool' && m.name === undefined && m.toolCallId !== undefined) {
      const name = names.get(m.toolCallId);
      if (name !== undefined) m.name = name;
    }
  }
}

function storageOff(param: string): GatewayError {
  return invalidRequest(
    `This gateway is set to store no responses (RESPONSES_STORE=false), so '${param}' cannot be used: send the whole conversation in 'input'.`,
    param,
    'unsupported_value',
  );
}
