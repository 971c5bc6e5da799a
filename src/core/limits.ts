/**
 * MAX_MESSAGES and MAX_MESSAGE_CHARS, checked once on the gateway's own request after a front end parsed it, so
 * they hold alike for chat `messages`, Responses `input` items, Anthropic `messages` and a legacy `prompt`.
 * The front end notes where each message came from in its body (MessageOrigins), so the 400 names the client's
 * own field.
 */
import { messageTooLarge, tooManyMessages } from './errors.js';
import type { GatewayRequest, Message } from './types.js';

export interface RequestLimits {
  /** MAX_MESSAGES: entries of the client's message list */
  maxMessages: number;
  /** MAX_MESSAGE_CHARS: characters of text in one message */
  maxMessageChars: number;
}

/**
 * Where a request's messages came from, noted by the parser as it builds them: `paths[i]` is the body's path of
 * message i (`messages[3]`, `input[7]`, `system`, `prompt`), and `entries` counts the entries of the client's list
 * that became or joined a message (a Responses function_call joins the assistant turn before it).
 */
export class MessageOrigins {
  readonly paths: string[] = [];
  entries = 0;
  /** the field of a list entry that holds its text, for the 400's param (Gemini's `parts`) */
  contentField = 'content';

  /** one entry of the client's list, at `path`, became `count` new messages at the end (0: it joined the last one) */
  entry(path: string, count = 1): void {
    for (let i = 0; i < count; i++) this.paths.push(path);
    this.entries++;
  }

  /** a message not from the list (a `system` or `instructions` field) went first */
  leading(path: string): void {
    this.paths.unshift(path);
  }
}

/** Throws the 400 of the first limit the request passes; `origins` as its front end noted them. */
export function checkRequestLimits(req: GatewayRequest, limits: RequestLimits, origins?: MessageOrigins): void {
  const entries = origins?.entries ?? req.messages.length;
  if (entries > limits.maxMessages) {
    const list = listName(origins?.paths.find((p) => INDEXED.test(p)) ?? 'messages[0]');
    throw tooManyMessages(entries, limits.maxMessages, list);
  }
  req.messages.forEach((m, i) => {
    if (textChars(m, limits.maxMessageChars) <= limits.maxMessageChars) return;
    const path = origins?.paths[i] ?? `messages[${i}]`;
    throw messageTooLarge(path, limits.maxMessageChars, INDEXED.test(path) ? `${path}.${origins?.contentField ?? 'content'}` : path);
  });
}

const INDEXED = /\[\d+\]$/;

const listName = (path: string): string => path.replace(INDEXED, '');

/** Characters of text in a message (content, reasoning, tool calls), stopping early once past `cap`. Media is bounded by BODY_LIMIT_BYTES. */
function textChars(m: Message, cap: number): number {
  let total = m.content.length + (m.reasoning?.length ?? 0);
  for (const call of m.toolCalls ?? []) {
    if (total > cap) break;
    total += call.name.length + call.arguments.length;
  }
  return total;
}
