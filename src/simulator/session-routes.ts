/**
 * The session routes: create, list a company's sessions, fetch one and its messages.
 */
import { pause, sendJson, type ParsedJson } from './http.js';
import { newRecordId, type SessionRec } from './state.js';
import { failCall, type UpstreamCall } from './upstream-call.js';
import { isObj, readSessionBody } from './validate.js';

/** How many sessions the list route shows, the newest. */
const LISTED_SESSIONS = 100;

function sessionView(s: SessionRec): Record<string, unknown> {
  return {
    id: s.id,
    companyId: s.companyId,
    externalUserId: s.externalUserId,
    pluginIds: [...s.pluginIds],
    title: '',
    createdAt: s.createdAt,
  };
}

export async function createSession(call: UpstreamCall, json: ParsedJson): Promise<void> {
  const { res, key, state } = call;
  if (!json.ok || !isObj(json.value)) return failCall(call, 400, 'invalid_request', 'Request body must be a JSON object');
  const body = readSessionBody(json.value);
  if ('error' in body) return failCall(call, 400, 'invalid_request', body.error);
  if (!(await pause(res, state.opts.sessionDelayMs))) return;

  const s: SessionRec = {
    id: newRecordId(),
    companyId: state.sessions.companyId(key),
    externalUserId: body.externalUserId,
    pluginIds: body.pluginIds,
    createdAt: new Date().toISOString(),
    bornMs: performance.now(),
    ownerKey: key,
    messages: [],
    media: [],
  };
  state.sessions.add(s);
  state.stats.sessionsCreated++;
  sendJson(res, 201, { message: 'Session created successfully', data: sessionView(s) });
}

export function listSessions(call: UpstreamCall): void {
  const { sessions } = call.state;
  const data = sessions.ofCompany(sessions.companyId(call.key)).slice(-LISTED_SESSIONS).map(sessionView);
  sendJson(call.res, 200, { message: 'Sessions fetched successfully', data });
}

export function getSession(call: UpstreamCall, id: string): void {
  const s = call.state.sessions.get(id);
  if (!s) return failCall(call, 404, 'not_found', 'Session not found');
  sendJson(call.res, 200, { message: 'Session fetched successfully', data: sessionView(s) });
}

export function listMessages(call: UpstreamCall, id: string): void {
  const s = call.state.sessions.get(id);
  if (!s) return failCall(call, 404, 'not_found', 'Session not found');
  sendJson(call.res, 200, { message: 'Messages fetched successfully', data: s.messages.map((m) => ({ ...m })) });
}
