/**
 * Playing the failure behaviors set on keys. Call faults (http, reset, stall, slow) strike before the route
 * runs; query faults (cut, stream_error, stall_stream) shape how a query's answer ends, streamed or not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorFrame, type StreamEnding } from './frames.js';
import { defaultErrorBody, pause, resetSocket, sendEdgeHtml, sendJson, sendText } from './http.js';
import type { KeyBehavior, KeyStats, SimAnswer } from './types.js';

export type QueryFault = Extract<KeyBehavior, { kind: 'cut' | 'stream_error' | 'stall_stream' }>;
export type CallFault = Exclude<KeyBehavior, QueryFault>;

export function isQueryFault(b: KeyBehavior): b is QueryFault {
  return b.kind === 'cut' || b.kind === 'stream_error' || b.kind === 'stall_stream';
}

/**
 * Play a call fault; resolves true when the call goes on to its route (ok, or a slow start the client waited
 * out), false when the fault has disposed of it. Every fault but a slow start counts as a failure of the key.
 */
export async function playCallFault(req: IncomingMessage, res: ServerResponse, b: CallFault, ks: KeyStats): Promise<boolean> {
  switch (b.kind) {
    case 'ok':
      return true;
    case 'http': {
      ks.failures++;
      const headers: Record<string, string> = b.retryAfterSec !== undefined ? { 'retry-after': String(b.retryAfterSec) } : {};
      if (b.html) sendEdgeHtml(res, b.status, headers);
      else if (typeof b.body === 'string') sendText(res, b.status, 'text/plain; charset=utf-8', b.body, headers);
      else sendJson(res, b.status, b.body === undefined ? defaultErrorBody(b.status) : b.body, headers);
      return false;
    }
    case 'reset':
      ks.failures++;
      resetSocket(req);
      return false;
    case 'stall':
      ks.failures++;
      return false; // never answered; the socket closes when the client gives up or the simulator closes
    case 'slow':
      return pause(res, b.delayMs);
  }
}

/** The error a stream_error fault reports, with its defaults. */
function faultError(f: Extract<QueryFault, { kind: 'stream_error' }>): { errorCode: string; message: string } {
  return { errorCode: f.errorCode ?? 'model_error', message: f.message ?? 'The model failed to answer' };
}

/** How a streamed answer ends: the query fault if any, else the answer's own error, else [DONE]. */
export function streamEnding(fault: QueryFault | undefined, ans: SimAnswer): StreamEnding {
  switch (fault?.kind) {
    case 'cut':
      return { kind: 'cut', afterDeltas: fault.afterDeltas };
    case 'stall_stream':
      return { kind: 'stall', afterDeltas: fault.afterDeltas };
    case 'stream_error': {
      const err = faultError(fault);
      return { kind: 'error', afterDeltas: fault.afterDeltas, frame: errorFrame(err.message, err.errorCode) };
    }
  }
  if (ans.error) return { kind: 'error', afterDeltas: ans.error.afterDeltas, frame: errorFrame(ans.error.message, ans.error.errorCode) };
  return { kind: 'done' };
}

export type SyncOutcome =
  /** the socket is reset */
  | { kind: 'cut' }
  /** never answered */
  | { kind: 'stall' }
  | { kind: 'error'; errorCode: string; message: string }
  | { kind: 'answer' };

/** How a sync answer goes: the query fault if any, else the answer's own error, else the answer. */
export function syncOutcome(fault: QueryFault | undefined, ans: SimAnswer): SyncOutcome {
  switch (fault?.kind) {
    case 'cut':
      return { kind: 'cut' };
    case 'stall_stream':
      return { kind: 'stall' };
    case 'stream_error':
      return { kind: 'error', ...faultError(fault) };
  }
  if (ans.error) return { kind: 'error', errorCode: ans.error.errorCode, message: ans.error.message };
  return { kind: 'answer' };
}
