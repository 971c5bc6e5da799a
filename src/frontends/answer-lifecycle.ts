/**
 * One answer's lifecycle, shared by every front end and by both ways an answer goes out. The lifecycle reads the
 * engine's events and decides what happens: when the answer starts, which part is open (text, reasoning, a web
 * search) and when it closes, the usage, and the guards (nothing after the end but a late usage, done() only
 * after the end, one error and nothing after it). An API's writer only says how each step is written.
 *
 * A stream runs the lifecycle with the API's stream writer. A whole answer runs the same lifecycle over the same
 * events with a recorder as its writer, and the API renders the parts it recorded: the streamed and the whole
 * answer are one projection, so they have the same parts in the same order (src/frontends/stream-and-whole.test.ts).
 */
import type { GatewayError } from '../core/errors.js';
import type { FinishReason, GatewayEvent, PluginCall, ToolCall, UrlCitation, Usage } from '../core/types.js';

/** A part that grows while it is open: text and reasoning deltas; a web search stays open until the answer goes on. */
export type OpenPart = 'text' | 'reasoning' | 'web_search';

export type AnswerPhase =
  /** nothing written but `start` */
  | 'not_started'
  /** begun, no part open */
  | 'open'
  | OpenPart
  /** the last part was tool calls: nothing is open, they came whole */
  | 'tool_call'
  /** the end came: only a late usage still counts */
  | 'finished'
  | 'failed'
  | 'done';

/** What a writer may read of the answer so far. */
export interface AnswerState {
  readonly phase: AnswerPhase;
  /** null while no usage came */
  readonly usage: Usage | null;
  /** null until the end */
  readonly finishReason: FinishReason | null;
  /** the last citations event's URLs (undefined: none came) */
  readonly citations: readonly UrlCitation[] | undefined;
  /** the web searches so far */
  readonly webSearches: number;
}

/**
 * How one API writes each step of an answer; every hook returns the bytes of its step ('' for none). Text,
 * reasoning and tool calls reach it non-empty, and only while the answer is open.
 */
export interface AnswerWriter {
  /** before the first event (Anthropic's message_start) */
  start?(): string;
  /** once, in front of the first step after `start` (chat's role chunk) */
  begin?(): string;
  open?(part: 'text' | 'reasoning'): string;
  text(text: string): string;
  reasoning(text: string): string;
  /** `finish` is set when the end closes the part */
  close?(part: OpenPart, finish: FinishReason | undefined): string;
  /** `first` is the index of the first of these calls in the answer */
  toolCalls(calls: readonly ToolCall[], first: number): string;
  /** a web search OnDemand ran, now the open part */
  webSearch?(call: PluginCall): string;
  citations?(citations: readonly UrlCitation[]): string;
  /** the end, after the open part closed */
  finish(reason: FinishReason, state: AnswerState): string;
  /** the stream's last bytes after the end (the usage a late usage event may have brought, `[DONE]`) */
  done?(state: AnswerState): string;
  /** an error after the stream started: the stream ends after these bytes */
  fail(err: GatewayError, state: AnswerState): string;
}

/** A stream encoder (spec.ts, StreamEncoder) for any API: the writer says how, the lifecycle says when. */
export class AnswerLifecycle implements AnswerState {
  phase: AnswerPhase = 'not_started';
  usage: Usage | null = null;
  finishReason: FinishReason | null = null;
  citations: readonly UrlCitation[] | undefined;
  webSearches = 0;
  readonly ping?: string;
  private toolCalls = 0;

  constructor(
    private readonly writer: AnswerWriter,
    /** names the encoder in the error for done() before the end */
    private readonly name: string,
    /** what a quiet stream writes (StreamEncoder.ping; absent: a comment) */
    ping?: string,
  ) {
    if (ping !== undefined) this.ping = ping;
  }

  start(): string {
    return this.writer.start?.() ?? '';
  }

  encode(event: GatewayEvent): string {
    if (event.type === 'usage') {
      this.usage = event.usage;
      return '';
    }
    if (this.phase === 'finished' || this.phase === 'failed' || this.phase === 'done') return '';
    switch (event.type) {
      case 'text':
        return event.text === '' ? '' : this.enter('text') + this.writer.text(event.text);
      case 'reasoning':
        return event.text === '' ? '' : this.enter('reasoning') + this.writer.reasoning(event.text);
      case 'tool_calls': {
        if (event.calls.length === 0) return '';
        const first = this.toolCalls;
        this.toolCalls += event.calls.length;
        return this.enter('tool_call') + this.writer.toolCalls(event.calls, first);
      }
      case 'plugin_call': {
        // any plugin call starts the answer; a web search is a part of it
        if (!event.call.webSearch) return this.begin();
        this.webSearches++;
        return this.enter('web_search') + (this.writer.webSearch?.(event.call) ?? '');
      }
      case 'citations':
        this.citations = event.citations;
        return (event.citations.length === 0 ? '' : this.begin()) + (this.writer.citations?.(event.citations) ?? '');
      case 'end': {
        const closed = this.begin() + this.close(event.finishReason);
        this.phase = 'finished';
        this.finishReason = event.finishReason;
        return closed + this.writer.finish(event.finishReason, this);
      }
    }
  }

  error(err: GatewayError): string {
    if (this.phase === 'failed' || this.phase === 'done') return '';
    this.phase = 'failed';
    return this.writer.fail(err, this);
  }

  done(): string {
    if (this.phase === 'failed' || this.phase === 'done') return '';
    if (this.phase !== 'finished') throw new Error(`${this.name}: done() before the end event; end a failed stream with error()`);
    this.phase = 'done';
    return this.writer.done?.(this) ?? '';
  }

  private begin(): string {
    if (this.phase !== 'not_started') return '';
    this.phase = 'open';
    return this.writer.begin?.() ?? '';
  }

  /** `part` is open after this; text and reasoning go on growing, every web search is a part of its own */
  private enter(part: OpenPart | 'tool_call'): string {
    if (this.phase === part && part !== 'web_search') return '';
    const before = this.begin() + this.close(undefined);
    this.phase = part;
    return part === 'text' || part === 'reasoning' ? before + (this.writer.open?.(part) ?? '') : before;
  }

  private close(finish: FinishReason | undefined): string {
    const part = this.phase;
    if (part !== 'text' && part !== 'reasoning' && part !== 'web_search') return '';
    this.phase = 'open';
    return this.writer.close?.(part, finish) ?? '';
  }
}

// ---- the whole answer ------------------------------------------------------------------------------------------

/** A part of an answer, as the stream opened it. */
export type AnswerPart = { kind: 'text'; text: string } | { kind: 'reasoning'; text: string } | { kind: 'tool_call'; call: ToolCall } | { kind: 'web_search'; call: PluginCall };

/** A whole answer: its parts in the order a stream writes them, and what the APIs read of them together. */
export interface WholeAnswer {
  parts: AnswerPart[];
  /** every text part, joined */
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  webSearches: PluginCall[];
  /** the URLs the text cites, for a web search request (absent: not one) */
  citations?: UrlCitation[];
  /** estimated zeros when none came: every API's whole answer has usage, and the engine always sends it */
  usage: Usage;
  /** 'stop' when no end came */
  finishReason: FinishReason;
}

/** The writer of a whole answer: records the parts and writes nothing. */
class PartRecorder implements AnswerWriter {
  readonly parts: AnswerPart[] = [];
  private last: { text: string } = { text: '' };

  open(kind: 'text' | 'reasoning'): string {
    const part = { kind, text: '' };
    this.parts.push(part);
    this.last = part;
    return '';
  }
  text(text: string): string {
    this.last.text += text;
    return '';
  }
  reasoning(text: string): string {
    this.last.text += text;
    return '';
  }
  toolCalls(calls: readonly ToolCall[]): string {
    for (const call of calls) this.parts.push({ kind: 'tool_call', call });
    return '';
  }
  webSearch(call: PluginCall): string {
    this.parts.push({ kind: 'web_search', call });
    return '';
  }
  finish(): string {
    return '';
  }
  fail(): string {
    return '';
  }
}

/** Folds events into a whole answer through the lifecycle a stream runs. */
export class WholeAnswerBuilder {
  private readonly recorder = new PartRecorder();
  private readonly lifecycle = new AnswerLifecycle(this.recorder, 'whole answer');

  add(event: GatewayEvent): void {
    this.lifecycle.encode(event);
  }

  result(): WholeAnswer {
    const { parts } = this.recorder;
    const life = this.lifecycle;
    let text = '';
    let reasoning = '';
    const toolCalls: ToolCall[] = [];
    const webSearches: PluginCall[] = [];
    for (const part of parts) {
      if (part.kind === 'text') text += part.text;
      else if (part.kind === 'reasoning') reasoning += part.text;
      else if (part.kind === 'tool_call') toolCalls.push(part.call);
      else webSearches.push(part.call);
    }
    const answer: WholeAnswer = {
      parts,
      text,
      reasoning,
      toolCalls,
      webSearches,
      usage: life.usage ?? { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true },
      finishReason: life.finishReason ?? 'stop',
    };
    if (life.citations !== undefined) answer.citations = [...life.citations];
    return answer;
  }
}

export function wholeAnswerOf(events: Iterable<GatewayEvent>): WholeAnswer {
  const builder = new WholeAnswerBuilder();
  for (const event of events) builder.add(event);
  return builder.result();
}
