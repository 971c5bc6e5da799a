/**
 * How a failed upstream call reflects on the key that made it. The whole key-health story starts here: a wrong
 * class either blacklists good keys (gpt-load counted client errors against keys) or keeps dead keys in rotation.
 */
import type { UpstreamFailure } from '../ondemand/failure.js';
import type { FailureClass } from './types.js';

/** OnDemand has no distinct "out of credits" code; it shows up as text under 401/402/403/429 (ondemand-api.md §4). */
const CREDIT_TEXT = /credit|quota|billing|insufficient[\s_-]*(balance|funds)|payment[\s_-]*required|out of balance/i;
/** "quota of 100 calls per minute" under a 429 is a rate limit, not an empty account. */
const RATE_TEXT = /per[\s_-]*(minute|second|hour)|\/\s*(min|sec|s)\b|rate[\s_-]*limit|too many/i;

/** Statuses that say the request itself was wrong: another key would fail the same way. */
const CLIENT_STATUSES = new Set([400, 404, 405, 409, 410, 411, 413, 414, 415, 416, 422, 431]);

export function classifyFailure(f: UpstreamFailure): FailureClass {
  if (f.kind === 'client_aborted') return 'client';
  if (f.errorCode === 'context_length_exceeded') return 'client';
  // The edge's HTML page is not an API answer, so its text must not be read as a verdict on the key.
  if (f.status === 403 && (f.htmlBody || /\b1010\b/.test(f.upstreamMessage ?? ''))) return 'edge';
  const text = `${f.errorCode ?? ''} ${f.upstreamMessage ?? ''}`;
  if (CREDIT_TEXT.test(text) && !(f.status === 429 && RATE_TEXT.test(f.upstreamMessage ?? ''))) return 'auth';
  if (f.kind !== 'http') return 'transient';
  const status = f.status ?? 0;
  if (status === 401 || status === 402 || status === 403) return 'auth';
  if (status === 429) return 'rate';
  if (status === 408 || status >= 500 || status === 0) return 'transient';
  // The query route only 404s when the session is gone (a pre-created session expired upstream): a fresh session,
  // on any key, fixes it, and the client did nothing wrong.
  if (status === 404 && f.phase === 'query') return 'transient';
  if (CLIENT_STATUSES.has(status) || (status >= 400 && status < 500)) return 'client';
  // A 1xx/2xx/3xx reported as a failure means the answer could not be used: the upstream's trouble, not the key's.
  return 'transient';
}

/**
 * A model failing (500 model_error) says nothing about the key: every key would get it for that model. Counting it
 * against keys is how one broken model emptied whole pools (gpt-load #278), so such failures never cool a key and
 * never trip the upstream circuit; the engine may still retry them.
 */
export function isModelFailure(f: UpstreamFailure): boolean {
  return f.errorCode === 'model_error';
}

/**
 * The query route's 404: the session is gone upstream (a pooled session it forgot). Not the key's fault, so it never
 * cools a key or trips the circuit; the engine retries it with a freshly created session.
 */
export function isSessionGone(f: UpstreamFailure): boolean {
  return f.kind === 'http' && f.status === 404 && f.phase === 'query';
}

/** Short, key-free text for a key's `reason`/`lastError`, e.g. "401 unauthenticated", "connect_timeout". */
export function describeFailure(f: UpstreamFailure): string {
  if (f.kind !== 'http') return f.errorCode === undefined ? f.kind : `${f.kind} ${f.errorCode}`;
  const status = f.status === undefined ? 'http' : String(f.status);
  if (f.errorCode !== undefined) return `${status} ${f.errorCode}`;
  if (f.htmlBody) return `${status} edge block`;
  return status;
}
