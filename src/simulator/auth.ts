/**
 * Who may call the simulated upstream: the edge turns away library-default User-Agents before any key check,
 * then the apikey header must be present and, when the simulator has a key list, on it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDefaultUserAgent, sendEdgeHtml, sendJson } from './http.js';
import type { SimState } from './state.js';

export type AuthVerdict =
  | { kind: 'allowed'; key: string }
  | { kind: 'edge_blocked' }
  /** `key` is '' when the header is missing */
  | { kind: 'unauthenticated'; key: string; message: string };

export type AuthRefusal = Exclude<AuthVerdict, { kind: 'allowed' }>;

/** `keys` empty: any non-empty apikey is accepted. */
export function checkAuth(userAgent: string | undefined, apikey: string | undefined, keys: ReadonlySet<string>): AuthVerdict {
  if (isDefaultUserAgent(userAgent)) return { kind: 'edge_blocked' };
  const key = apikey ?? '';
  if (key === '' || (keys.size > 0 && !keys.has(key))) {
    return { kind: 'unauthenticated', key, message: key === '' ? 'Missing apikey header' : 'Invalid API key' };
  }
  return { kind: 'allowed', key };
}

/** Answer a refused call without reading its body; a wrong key counts as a failure of that key. */
export function refuseCall(req: IncomingMessage, res: ServerResponse, state: SimState, refusal: AuthRefusal): void {
  req.resume();
  if (refusal.kind === 'edge_blocked') return sendEdgeHtml(res, 403);
  if (refusal.key !== '') state.keyStats(refusal.key).failures++;
  sendJson(res, 401, { errorCode: 'unauthenticated', message: refusal.message });
}
