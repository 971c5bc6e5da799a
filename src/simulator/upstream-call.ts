/**
 * One authenticated upstream call as a route handler sees it, and the error answer that counts against the
 * caller's key.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http.js';
import type { SimState } from './state.js';

export interface UpstreamCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** the caller's apikey, already accepted */
  readonly key: string;
  readonly state: SimState;
}

/** Answer OnDemand's {errorCode, message} and count a failure for the key. */
export function failCall(call: UpstreamCall, status: number, errorCode: string, message: string): void {
  call.state.keyStats(call.key).failures++;
  sendJson(call.res, status, { errorCode, message });
}
