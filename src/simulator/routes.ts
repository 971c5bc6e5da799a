/**
 * The simulated upstream's routes: which call a method and path make, and one call's way through the edge
 * and key checks, stats, its body, the faults set on its key, and its handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkAuth, refuseCall } from './auth.js';
import type { CallKind } from './behaviors.js';
import { catalogueBody } from './catalogue.js';
import { isQueryFault, playCallFault, type QueryFault } from './faults.js';
import { JSON_BODY_LIMIT, decodePathSegment, header, parseJson, readPostBody, sendJson } from './http.js';
import { uploadMediaFile, uploadMediaFromUrl } from './media-routes.js';
import { answerQuery } from './query-route.js';
import { createSession, getSession, listMessages, listSessions } from './session-routes.js';
import type { SimState } from './state.js';
import { failCall, type UpstreamCall } from './upstream-call.js';

/** Cap on a multipart file upload. */
const RAW_UPLOAD_LIMIT = 64 * 1024 * 1024;

export type Route =
  | { name: 'createSession' }
  | { name: 'listSessions' }
  | { name: 'getSession'; id: string }
  | { name: 'messages'; id: string }
  | { name: 'query'; id: string }
  | { name: 'endpoints' }
  | { name: 'mediaJson' }
  | { name: 'mediaRaw' };

export function matchRoute(method: string, path: string): Route | undefined {
  if (method === 'POST') {
    if (path === '/chat/v1/sessions') return { name: 'createSession' };
    if (path === '/media/v1/public/file') return { name: 'mediaJson' };
    if (path === '/media/v1/public/file/raw') return { name: 'mediaRaw' };
    const m = /^\/chat\/v1\/sessions\/([^/]+)\/query$/.exec(path);
    if (m) return { name: 'query', id: decodePathSegment(m[1]!) };
    return undefined;
  }
  if (method === 'GET') {
    if (path === '/chat/v1/sessions') return { name: 'listSessions' };
    if (path === '/config/v1/public/endpoints') return { name: 'endpoints' };
    const m = /^\/chat\/v1\/sessions\/([^/]+)(\/messages)?$/.exec(path);
    if (m) return m[2] ? { name: 'messages', id: decodePathSegment(m[1]!) } : { name: 'getSession', id: decodePathSegment(m[1]!) };
  }
  return undefined;
}

/** The kind of call a route is for stats and behaviors; reads are neither counted nor faulted. */
export function callKindOf(route: Route): CallKind | undefined {
  return route.name === 'createSession' ? 'session' : route.name === 'query' ? 'query' : route.name.startsWith('media') ? 'media' : undefined;
}

export async function handleUpstream(req: IncomingMessage, res: ServerResponse, path: string, state: SimState): Promise<void> {
  const method = req.method ?? 'GET';
  const auth = checkAuth(header(req, 'user-agent'), header(req, 'apikey'), state.keys);
  if (auth.kind !== 'allowed') return refuseCall(req, res, state, auth);
  const call: UpstreamCall = { req, res, key: auth.key, state };
  const route = matchRoute(method, path);
  if (!route) {
    req.resume();
    return failCall(call, 404, 'not_found', `Cannot ${method} ${path}`);
  }

  const kind = callKindOf(route);
  const traceparent = header(req, 'traceparent');
  if (kind !== undefined && traceparent !== undefined) state.recordTraceparent({ call: kind, key: call.key, traceparent });
  const ks = state.countCall(call.key, kind);
  const body = await readPostBody(req, route.name === 'mediaRaw' ? RAW_UPLOAD_LIMIT : JSON_BODY_LIMIT);
  const json = route.name === 'mediaRaw' ? ({ ok: false } as const) : parseJson(body);
  if (route.name === 'query' && json.ok) state.recordQuery(json.value, Object.keys(req.headers), route.id);

  const fault = kind ? state.behaviors.take(call.key, kind) : undefined;
  let queryFault: QueryFault | undefined;
  if (fault && isQueryFault(fault)) queryFault = fault;
  else if (fault && !(await playCallFault(req, res, fault, ks))) return;

  switch (route.name) {
    case 'createSession':
      return createSession(call, json);
    case 'listSessions':
      return listSessions(call);
    case 'getSession':
      return getSession(call, route.id);
    case 'messages':
      return listMessages(call, route.id);
    case 'endpoints':
      return sendJson(res, 200, catalogueBody());
    case 'query':
      return answerQuery(call, route.id, json, queryFault);
    case 'mediaJson':
      return uploadMediaFromUrl(call, json);
    case 'mediaRaw':
      return uploadMediaFile(call, body);
  }
}
