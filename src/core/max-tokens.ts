/**
 * max_tokens, enforced by the gateway. OnDemand's reference has no output cap, and a live probe sending one got
 * an empty answer (docs/ondemand-protocol.md §4.4), so the limit is not sent upstream by default: this filter, the
 * last answer stage, counts what the client receives and ends the answer at the limit with finish reason `length`
 * and usage for what was delivered; the engine then stops the upstream (src/core/engine.ts).
 *
 * What counts (docs/tools.md, README "Chat completions"): the text, the reasoning where the API shows it (OpenAI
 * counts reasoning tokens in max_completion_tokens, Anthropic's max_tokens includes thinking; legacy completions
 * leave reasoning out, so there it does not count), and each tool call's name and arguments. Text and reasoning
 * are cut at a token boundary; a tool call is delivered whole or not at all, since half a call is of no use to a
 * client: one that does not fit is dropped and the answer ends with `length` after what came before it.
 *
 * Cost: nothing is tokenized while the UTF-8 bytes so far stay within the limit (an o200k token is at least one
 * byte); past that, only the last few pieces of the text are counted again as it grows (GrowingCount).
 */
import type { EventFilter } from './events.js';
import { TextPieces } from '../runtime/text-pieces.js';
import { countTokens, pieceStarts } from './tokens.js';
import type { GatewayEvent, ToolCall, Usage } from './types.js';

/**
 * Pieces left uncounted at the end of a growing text: appending can re-split the last two (a contraction such as
 * "it'" + "s", a whitespace run that gains a newline); one more for margin. max-tokens.test.ts checks it.
 */
const OPEN_PIECES = 3;

/**
 * The longest uncounted tail kept, in UTF-8 bytes: past it, append() counts the stable part and drops it, so a long
 * answer's text is not held whole for the count at its end.
 */
const KEEP_TAIL_BYTES = 16 * 1024;

/** how far past the binary search's answer a cut looks for a longer fit (a token count is not monotonic in the text) */
const FIT_WINDOW = 16;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The tokens of a text that grows at its end, counted when asked: `frozen` tokens for a prefix that later text
 * can no longer re-split, then an uncounted `tail` (at most KEEP_TAIL_BYTES and a few pieces). `upper()` bounds the
 * count without tokenizing: the frozen tokens plus the tail's UTF-8 bytes.
 */
export class GrowingCount {
  private frozen = 0;
  private readonly tail = new TextPieces();
  private tailBytes = 0;
  private freezeAt = KEEP_TAIL_BYTES;

  upper(): number {
    return this.frozen + this.tailBytes;
  }

  exact(): number {
    this.freeze();
    return this.frozen + countTokens(this.tail.text());
  }

  /** the exact count were `text` appended */
  exactWith(text: string): number {
    this.freeze();
    return this.frozen + countTokens(this.tail.text() + text);
  }

  append(text: string): void {
    this.tail.append(text);
    this.tailBytes += utf8Bytes(text);
    if (this.tailBytes > this.freezeAt) {
      this.freeze();
      // a tail that would not freeze (one long piece) is tried again only after as much more text
      this.freezeAt = this.tailBytes + KEEP_TAIL_BYTES;
    }
  }

  /** The longest start of `text` (whole characters) that keeps the count at or below `limit` once appended. */
  fit(text: string, limit: number): string {
    this.freeze();
    const room = limit - this.frozen;
    const base = this.tail.text();
    const fits = (end: number): boolean => countTokens(base + text.slice(0, end)) <= room;
    const ends = charEnds(text);
    if (!fits(0)) return '';
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (fits(ends[mid] as number)) lo = mid;
      else hi = mid - 1;
    }
    let best = lo;
    for (let i = lo + 1; i < ends.length && i <= lo + FIT_WINDOW; i++) if (fits(ends[i] as number)) best = i;
    return text.slice(0, ends[best]);
  }

  private freeze(): void {
    const tail = this.tail.text();
    const starts = pieceStarts(tail);
    if (starts.length <= OPEN_PIECES) return;
    // the stable part is counted alone, so it must not end in whitespace: whitespace splits by what follows it
    // ("a \t" alone keeps " \t" together, before a quote it is " " and "\t")
    let last = starts.length - OPEN_PIECES;
    while (last > 0 && /\s/.test(tail[(starts[last] as number) - 1] as string)) last--;
    if (last === 0) return;
    const cut = starts[last] as number;
    const stable = tail.slice(0, cut);
    this.frozen += countTokens(stable);
    this.tailBytes -= utf8Bytes(stable);
    this.tail.reset(tail.slice(cut));
  }
}

/** 0, then the index after each character of `text` (a surrogate pair is one character) */
function charEnds(text: string): number[] {
  const ends = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    ends.push(i + 1);
  }
  return ends;
}

export interface MaxTokensOptions {
  limit: number;
  /** whether the client sees reasoning, and so whether it counts (legacy completions leave it out) */
  countReasoning: boolean;
  /** input tokens for the usage of a cut answer: the upstream's if it reported them already, else counted */
  inputTokens: () => number;
}

function callTokens(calls: readonly ToolCall[]): number {
  let n = 0;
  for (const call of calls) n += countTokens(call.name) + countTokens(call.arguments);
  return n;
}

/** Event in, events out. The upstream's usage is held to just before the end, so a cut answer carries only its own. */
export class MaxTokensFilter implements EventFilter {
  private readonly text = new GrowingCount();
  private readonly reasoning = new GrowingCount();
  private toolTokens = 0;
  private usage: GatewayEvent | undefined;
  private cut = false;

  constructor(private readonly opts: MaxTokensOptions) {}

  push(event: GatewayEvent): GatewayEvent[] {
    if (this.cut) return [];
    switch (event.type) {
      case 'text':
        return this.grow(this.text, this.reasoning, event);
      case 'reasoning':
        return this.opts.countReasoning ? this.grow(this.reasoning, this.text, event) : [event];
      case 'tool_calls':
        return this.calls(event);
      case 'usage':
        this.usage = event;
        return [];
      case 'end':
        return this.usage === undefined ? [event] : [this.usage, event];
      case 'plugin_call':
      case 'citations':
        // not the model's output: a plugin's call and the sources are never cut or counted
        return [event];
    }
  }

  /** the tokens delivered so far */
  delivered(): number {
    return this.toolTokens + this.text.exact() + (this.opts.countReasoning ? this.reasoning.exact() : 0);
  }

  private otherUpper(other: GrowingCount): number {
    return this.toolTokens + (other === this.reasoning && !this.opts.countReasoning ? 0 : other.upper());
  }

  private otherExact(other: GrowingCount): number {
    return this.toolTokens + (other === this.reasoning && !this.opts.countReasoning ? 0 : other.exact());
  }

  private grow(count: GrowingCount, other: GrowingCount, event: GatewayEvent & { type: 'text' | 'reasoning' }): GatewayEvent[] {
    const { text, type } = event;
    if (text === '') return [event];
    const { limit } = this.opts;
    if (this.otherUpper(other) + count.upper() + utf8Bytes(text) <= limit) {
      count.append(text);
      return [event];
    }
    const room = limit - this.otherExact(other);
    if (count.exactWith(text) <= room) {
      count.append(text);
      return [event];
    }
    const piece = count.fit(text, room);
    count.append(piece);
    const out: GatewayEvent[] = piece === '' ? [] : [{ type, text: piece }];
    for (const e of this.stop()) out.push(e);
    return out;
  }

  private calls(event: GatewayEvent & { type: 'tool_calls' }): GatewayEvent[] {
    const tokens = callTokens(event.calls);
    const { limit } = this.opts;
    const fits = this.otherUpper(this.reasoning) + this.text.upper() + tokens <= limit || this.otherExact(this.reasoning) + this.text.exact() + tokens <= limit;
    if (!fits) return this.stop();
    this.toolTokens += tokens;
    return [event];
  }

  private stop(): GatewayEvent[] {
    this.cut = true;
    const outputTokens = this.delivered();
    const inputTokens = this.opts.inputTokens();
    const usage: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, estimated: true };
    return [
      { type: 'usage', usage },
      { type: 'end', finishReason: 'length' },
    ];
  }
}
