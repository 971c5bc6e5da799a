/**
 * The pure parts of stored responses and conversations: who owns a record, items as the API lists them (every
 * input item gets an id, as OpenAI gives it), the cursor pages of `input_items` and conversation items, and the
 * JSON a stored turn keeps. No I/O: src/frontends/responses/stored-state.ts does the reading and writing.
 */
import { hash } from 'node:crypto';
import { type GatewayError, gatewayError, invalidRequest, notFound } from '../../core/errors.js';
import { randomToken } from '../../runtime/random-id.js';
import { isAbsent, isObject, type Json } from '../validate.js';

const hex = (bytes: number): string => randomToken(bytes, 'hex');
export const newConversationId = (): string => `conv_${hex(24)}`;

/**
 * The owner of what a request stores: a hash of the client key it came with (the named client key's or the private
 * key's), derived apart from every other hash of the key, so the store holds nothing that matches a key or its
 * usage fingerprint. No key (an open gateway, a public path): one shared owner.
 */
export function ownerOf(keyDigest: Buffer | undefined): string {
  if (keyDigest === undefined) return 'o:anonymous';
  return `o:${hash('sha256', `ondemand-gateway stored state owner\n${keyDigest.toString('hex')}`, 'hex').slice(0, 32)}`;
}

const ID_PREFIX: Readonly<Record<string, string>> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  reasoning: 'rs',
  web_search_call: 'ws',
};

/** A fresh id for an item of this type (OpenAI's prefixes: msg_, fc_, rs_, ws_; fco_ for a tool result). */
export function newItemId(type: string): string {
  return `${ID_PREFIX[type] ?? 'item'}_${hex(24)}`;
}

/** A message's content as the API lists it: a string becomes one input_text (output_text for the assistant) part. */
function contentParts(role: unknown, content: unknown): unknown {
  if (typeof content !== 'string') return content;
  return role === 'assistant' ? [{ type: 'output_text', text: content, annotations: [] }] : [{ type: 'input_text', text: content }];
}

/**
 * The request's `input` as stored input items, in order: a string is one user message; every item keeps what the
 * client sent, gets `type` (messages may leave it out), an `id` when it has none (or one already taken in
 * `taken`), and a `status` where the API lists one. `input` has been validated by the request parser already.
 */
export function inputItems(input: unknown, taken: ReadonlySet<string> = new Set()): Json[] {
  const raw: unknown[] = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : [];
  const seen = new Set(taken);
  return raw.filter(isObject).map((item) => {
    const type = typeof item.type === 'string' ? item.type : 'message';
    const out: Json = { ...item, type };
    if (typeof out.id !== 'string' || out.id === '' || seen.has(out.id)) out.id = newItemId(type);
    seen.add(out.id as string);
    if (type === 'message') {
      out.content = contentParts(item.role, item.content);
      out.status ??= 'completed';
    } else if (type === 'function_call' || type === 'function_call_output') out.status ??= 'completed';
    return out;
  });
}

/** The items of a stored turn that the next turn's model sees: its input, then its output. */
export interface StoredTurn {
  /** the response object as the client got it (`output` holds the output items) */
  response: Json;
  /** this turn's own input items */
  input: Json[];
  /** the responses this one continues, oldest first (the previous_response_id chain) */
  ancestors: string[];
  /** the OnDemand session that answered: which key's account holds it, and its id */
  session?: SessionRef | undefined;
}

export interface SessionRef {
  /** fingerprint of the upstream key ("k:…") */
  key: string;
  id: string;
}

/** The name of a session in the store's session heads. */
export const sessionName = (s: SessionRef): string => `${s.key}/${s.id}`;

export function parseTurn(body: string): StoredTurn | undefined {
  try {
    const v: unknown = JSON.parse(body);
    if (!isObject(v) || !isObject(v.response) || !Array.isArray(v.input)) return undefined;
    const ancestors = Array.isArray(v.ancestors) ? v.ancestors.filter((a): a is string => typeof a === 'string') : [];
    const session = parseSession(v.session);
    return { response: v.response, input: v.input.filter(isObject), ancestors, ...(session ? { session } : {}) };
  } catch {
    return undefined;
  }
}

export function parseSession(v: unknown): SessionRef | undefined {
  if (typeof v === 'string') {
    try {
      return parseSession(JSON.parse(v));
    } catch {
      return undefined;
    }
  }
  return isObject(v) && typeof v.key === 'string' && typeof v.id === 'string' ? { key: v.key, id: v.id } : undefined;
}

/** A conversation item as stored: its JSON object (none when it is not one). */
export function parseStoredItem(item: { json: string }): Json[] {
  try {
    const v: unknown = JSON.parse(item.json);
    return isObject(v) ? [v] : [];
  } catch {
    return [];
  }
}

/** A turn's items in the order the model saw them: its input, then its output. */
export function turnItems(turn: StoredTurn): Json[] {
  const output = Array.isArray(turn.response.output) ? turn.response.output.filter(isObject) : [];
  return [...turn.input, ...output];
}

// ── pages ────────────────────────────────────────────────────────────────────────────────────────────────

export interface PageQuery {
  after?: string | undefined;
  before?: string | undefined;
  /** 1 to 100 */
  limit: number;
  order: 'asc' | 'desc';
}

const one = (value: unknown): unknown => (Array.isArray(value) ? value[value.length - 1] : value);

/** `after`, `before`, `limit` (1–100, default 20), `order` (default desc, as OpenAI's) and `include` (accepted) of a query string. */
export function readPageQuery(query: unknown): PageQuery {
  const q = isObject(query) ? query : {};
  const out: PageQuery = { limit: 20, order: 'desc' };
  const limit = one(q.limit);
  if (!isAbsent(limit) && limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw invalidRequest(`Invalid 'limit': ${String(limit)}. Expected an integer from 1 to 100.`, 'limit', 'invalid_value');
    out.limit = n;
  }
  const order = one(q.order);
  if (!isAbsent(order) && order !== '') {
    if (order !== 'asc' && order !== 'desc') throw invalidRequest(`Invalid 'order': '${String(order)}'. Supported values are: 'asc' and 'desc'.`, 'order', 'invalid_value');
    out.order = order;
  }
  for (const field of ['after', 'before'] as const) {
    const v = one(q[field]);
    if (typeof v === 'string' && v !== '') out[field] = v;
  }
  return out;
}

export interface ItemPage {
  object: 'list';
  data: Json[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * One page of `items` (given oldest first) in the query's order: the `limit` items after `after`, or, with only
 * `before`, the `limit` items just before it; `has_more` says whether the list goes on past the page in the
 * direction it was read. A cursor that is not in the list is a 400.
 */
export function pageOf(items: readonly Json[], q: PageQuery): ItemPage {
  const seq = q.order === 'asc' ? items : [...items].reverse();
  const indexOf = (id: string, param: string): number => {
    const i = seq.findIndex((item) => item.id === id);
    if (i < 0) throw invalidRequest(`Invalid '${param}': no item with id '${id}' in this list.`, param, 'invalid_value');
    return i;
  };
  const start = q.after === undefined ? 0 : indexOf(q.after, 'after') + 1;
  const end = q.before === undefined ? seq.length : indexOf(q.before, 'before');
  let from = start;
  let to = Math.min(end, start + q.limit);
  let hasMore = to < end;
  if (q.before !== undefined && q.after === undefined) {
    from = Math.max(start, end - q.limit);
    to = end;
    hasMore = from > start;
  }
  const data = from < to ? seq.slice(from, to) : [];
  return { object: 'list', data, first_id: idOf(data[0]), last_id: idOf(data[data.length - 1]), has_more: hasMore };
}

const idOf = (item: Json | undefined): string | null => (typeof item?.id === 'string' ? item.id : null);

// ── conversations ────────────────────────────────────────────────────────────────────────────────────────

/** At most this many items per create or add call, as OpenAI allows. */
export const MAX_ITEMS_PER_CALL = 20;

/** Metadata as OpenAI takes it: at most 16 string values, keys up to 64 characters, values up to 512. */
export function readMetadata(value: unknown, param = 'metadata'): Record<string, string> {
  if (isAbsent(value)) return {};
  if (!isObject(value)) throw invalidRequest(`Invalid '${param}': expected an object of strings.`, param, 'invalid_type');
  const entries = Object.entries(value);
  if (entries.length > 16) throw invalidRequest(`Invalid '${param}': at most 16 keys, got ${entries.length}.`, param, 'invalid_value');
  for (const [k, v] of entries) {
    if (k.length > 64) throw invalidRequest(`Invalid '${param}': key '${k.slice(0, 64)}…' is longer than 64 characters.`, param, 'invalid_value');
    if (typeof v !== 'string') throw invalidRequest(`Invalid '${param}.${k}': expected a string.`, `${param}.${k}`, 'invalid_type');
    if (v.length > 512) throw invalidRequest(`Invalid '${param}.${k}': longer than 512 characters.`, `${param}.${k}`, 'invalid_value');
  }
  return value as Record<string, string>;
}

export function conversationObject(id: string, createdAtMs: number, metadata: string): Json {
  let meta: unknown = {};
  try {
    meta = JSON.parse(metadata);
  } catch {
    // stored by us: always JSON
  }
  return { id, object: 'conversation', created_at: Math.floor(createdAtMs / 1000), metadata: meta };
}

// ── errors, in OpenAI's words ────────────────────────────────────────────────────────────────────────────

export const responseNotFound = (id: string): GatewayError => notFound(`Response with id '${id}' not found.`);
export const conversationNotFound = (id: string): GatewayError => notFound(`Conversation with id '${id}' not found.`);
export const itemNotFound = (id: string): GatewayError => notFound(`Item with id '${id}' not found.`);

/**
 * An unknown, deleted, expired or someone else's previous_response_id. OpenAI answers this with status 400 (its
 * SDKs raise BadRequestError), in exactly these words.
 */
export const previousResponseNotFound = (id: string): GatewayError =>
  gatewayError('previous_response_not_found', `Previous response with id '${id}' not found.`, { param: 'previous_response_id' });
