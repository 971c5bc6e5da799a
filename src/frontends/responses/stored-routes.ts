/**
 * Reading and managing what POST /v1/responses keeps, in OpenAI's shapes:
 *
 *   GET    /v1/responses/{id}                       the stored response object
 *   GET    /v1/responses/{id}/input_items           its input items (earlier turns of a previous_response_id chain
 *                                                   first), a cursor page: after, before, limit, order, include
 *   DELETE /v1/responses/{id}                       {id, object: "response.deleted", deleted: true}
 *   POST   /v1/conversations                        create, with up to 20 initial items and metadata
 *   GET    /v1/conversations/{id}                   retrieve;  POST: update metadata;  DELETE: delete
 *   GET    /v1/conversations/{id}/items             a cursor page of its items;  POST: add up to 20 items
 *   GET    /v1/conversations/{id}/items/{item_id}   one item;  DELETE: remove it (answers the conversation)
 *
 * Every record belongs to the client key that made it: any other key gets the same 404 as an unknown id.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, gatewayError, invalidRequest } from '../../core/errors.js';
import type { ConversationStateStore, StoredItem } from '../../store/types.js';
import { isAbsent, isObject, type Json } from '../validate.js';
import { readInput } from './request.js';
import {
  conversationNotFound,
  conversationObject,
  inputItems,
  itemNotFound,
  MAX_ITEMS_PER_CALL,
  newConversationId,
  ownerOf,
  pageOf,
  parseStoredItem,
  parseTurn,
  readMetadata,
  readPageQuery,
  responseNotFound,
  turnItems,
} from './stored-items.js';

type Params = { id: string; item_id?: string };

export function storedStateRoutes(store: ConversationStateStore, options: { enabled: boolean }) {
  return (app: FastifyInstance): void => {
    const owner = (request: FastifyRequest): string => {
      if (!options.enabled) throw storageOff();
      return ownerOf(request.gw.keyDigest);
    };
    const params = (request: FastifyRequest): Params => request.params as Params;

    const routes: Array<[method: 'GET' | 'POST' | 'DELETE', path: string, handler: (request: FastifyRequest) => Promise<unknown>]> = [
      [
        'GET',
        '/responses/:id',
        async (request) => {
          const q = request.query as Json;
          if (q.stream === 'true')
            throw invalidRequest('Streaming a stored response back is not supported: this gateway has no background responses.', 'stream', 'unsupported_value');
          const { id } = params(request);
          const turn = await loadTurn(store, id, owner(request));
          return turn.response;
        },
      ],
      [
        'GET',
        '/responses/:id/input_items',
        async (request) => {
          const { id } = params(request);
          const who = owner(request);
          const turn = await loadTurn(store, id, who);
          const page = readPageQuery(request.query);
          // the earlier turns of its chain first: what the model was given as input
          const older = turn.ancestors.length === 0 ? [] : await store.getResponses(turn.ancestors, who);
          const items: Json[] = [];
          for (const r of older) {
            const t = parseTurn(r.body);
            if (t !== undefined) items.push(...turnItems(t));
          }
          items.push(...turn.input);
          return pageOf(items, page);
        },
      ],
      [
        'DELETE',
        '/responses/:id',
        async (request) => {
          const { id } = params(request);
          if (!(await store.deleteResponse(id, owner(request)))) throw responseNotFound(id);
          return { id, object: 'response.deleted', deleted: true };
        },
      ],
      [
        'POST',
        '/conversations',
        async (request) => {
          const who = owner(request);
          const body = isObject(request.body) ? request.body : {};
          const metadata = readMetadata(body.metadata);
          const items = readItems(body.items, 'items', true);
          const id = newConversationId();
          const createdAt = Date.now();
          const meta = JSON.stringify(metadata);
          await store.createConversation({ id, owner: who, createdAt, metadata: meta, session: null, version: 0 }, toStored(items));
          return conversationObject(id, createdAt, meta);
        },
      ],
      [
        'GET',
        '/conversations/:id',
        async (request) => {
          const { id } = params(request);
          const c = await store.getConversation(id, owner(request));
          if (c === undefined) throw conversationNotFound(id);
          return conversationObject(c.id, c.createdAt, c.metadata);
        },
      ],
      [
        'POST',
        '/conversations/:id',
        async (request) => {
          const { id } = params(request);
          const body = isObject(request.body) ? request.body : {};
          if (!('metadata' in body)) throw invalidRequest("Missing required parameter: 'metadata'.", 'metadata', 'missing_required_parameter');
          const c = await store.setConversationMetadata(id, owner(request), JSON.stringify(readMetadata(body.metadata)));
          if (c === undefined) throw conversationNotFound(id);
          return conversationObject(c.id, c.createdAt, c.metadata);
        },
      ],
      [
        'DELETE',
        '/conversations/:id',
        async (request) => {
          const { id } = params(request);
          if (!(await store.deleteConversation(id, owner(request)))) throw conversationNotFound(id);
          return { id, object: 'conversation.deleted', deleted: true };
        },
      ],
      [
        'GET',
        '/conversations/:id/items',
        async (request) => {
          const { id } = params(request);
          const page = readPageQuery(request.query);
          const items = await store.listItems(id, owner(request));
          if (items === undefined) throw conversationNotFound(id);
          return pageOf(items.flatMap(parseStoredItem), page);
        },
      ],
      [
        'POST',
        '/conversations/:id/items',
        async (request) => {
          const { id } = params(request);
          const who = owner(request);
          const body = isObject(request.body) ? request.body : {};
          const given = readItems(body.items, 'items', false);
          const existing = await store.listItems(id, who);
          if (existing === undefined) throw conversationNotFound(id);
          const items = inputItems(given, new Set(existing.map((i) => i.id)));
          if ((await store.appendItems(id, who, { items: toStored(items) })) === undefined) throw conversationNotFound(id);
          return pageOf(items, { limit: items.length, order: 'asc' });
        },
      ],
      [
        'GET',
        '/conversations/:id/items/:item_id',
        async (request) => {
          const { id, item_id: itemId = '' } = params(request);
          const items = await store.listItems(id, owner(request));
          if (items === undefined) throw conversationNotFound(id);
          const item = items.find((i) => i.id === itemId);
          if (item === undefined) throw itemNotFound(itemId);
          return parseStoredItem(item)[0] ?? {};
        },
      ],
      [
        'DELETE',
        '/conversations/:id/items/:item_id',
        async (request) => {
          const { id, item_id: itemId = '' } = params(request);
          const who = owner(request);
          if (!(await store.deleteItem(id, who, itemId))) {
            if ((await store.getConversation(id, who)) === undefined) throw conversationNotFound(id);
            throw itemNotFound(itemId);
          }
          const c = await store.getConversation(id, who);
          if (c === undefined) throw conversationNotFound(id);
          return conversationObject(c.id, c.createdAt, c.metadata);
        },
      ],
    ];
    for (const [method, path, handler] of routes) {
      for (const prefix of ['/v1', '']) app.route({ method, url: `${prefix}${path}`, handler: (request) => handler(request) });
    }
  };
}

async function loadTurn(store: ConversationStateStore, id: string, owner: string) {
  const [record] = await store.getResponses([id], owner);
  const turn = record === undefined ? undefined : parseTurn(record.body);
  if (turn === undefined) throw responseNotFound(id);
  return turn;
}

/** Items to add: an array of up to 20 input items the Responses API would accept (validated as such). */
function readItems(value: unknown, param: string, optional: boolean): Json[] {
  if (isAbsent(value) && optional) return [];
  if (!Array.isArray(value)) throw invalidRequest(`Invalid '${param}': expected an array of items.`, param, isAbsent(value) ? 'missing_required_parameter' : 'invalid_type');
  if (value.length > MAX_ITEMS_PER_CALL) throw invalidRequest(`Invalid '${param}': at most ${MAX_ITEMS_PER_CALL} items at a time, got ${value.length}.`, param, 'invalid_value');
  if (!optional && value.length === 0) throw invalidRequest(`Invalid '${param}': empty array. Expected at least one item.`, param, 'empty_array');
  if (value.length > 0) {
    try {
      readInput(value);
    } catch (err) {
      // the parser names the field `input`; here it is `items` (an item list without a message is fine here)
      if (!(err instanceof GatewayError)) throw err;
      if (err.code !== 'empty_array') throw renamed(err, param);
    }
  }
  return inputItems(value);
}

function renamed(err: GatewayError, param: string): GatewayError {
  const swap = (s: string): string => s.replace(/\binput\b/g, param);
  return err.reworded(swap(err.message), err.param === null ? null : swap(err.param));
}

function toStored(items: readonly Json[]): StoredItem[] {
  return items.map((item) => ({ id: String(item.id), json: JSON.stringify(item) }));
}

function storageOff(): GatewayError {
  return gatewayError('not_found', 'This gateway is set to store no responses or conversations (RESPONSES_STORE=false).');
}
