/**
 * The one failure policy: what an upstream failure means for the key that made the call, for the upstream
 * circuit, for the request (same key after a wait, another key, the next model, or give up) and for the client.
 * Pure (no clock, no I/O): the caller passes the request's situation, so every rule is a row in
 * failure-policy.test.ts. The key pool, the engine, the model plan and the metrics all read its verdicts; nothing
 * else classifies a failure.
 */
import type { UpstreamFailure } from '../ondemand/failure.js';
import { clientClosedRequest, type GatewayError, gatewayError } from './errors.js';

// ---- the key -------------------------------------------------------------------------------------------------

/** How a failure reflects on the key that made the call. */
export type FailureClass =
  /** 401, a 403 that is not an edge block, 402, credit/quota text: the key is dead until a probe says otherwise */
  | 'auth'
  /** 429: cool down for Retry-After or a default, growing on repeats; never death */
  | 'rate'
  /** 5xx, timeouts, resets, cut streams: short cooldown judged on the failure rate over a window */
  | 'transient'
  /** a 403 HTML edge block (Cloudflare 1010): the upstream's edge, not the key */
  | 'edge'
  /** the client's own fault (400, 404, 413, 422, client hung up): never counts against a key */
  | 'client';

/**
 * How the upstream circuit counts the failure: 'other' is a key's own trouble (auth), which the circuit sees as a
 * key tried but not as shared trouble; 'ignored' says nothing about the upstream's health.
 */
export type CircuitCount = 'ignored' | 'rate' | 'transient' | 'other';

export interface KeyJudgement {
  cls: FailureClass;
  /** false: recorded on the key, never held against it (client and edge failures, model errors, a vanished session) */
  punish: boolean;
  circuit: CircuitCount;
  /** short, key-free text for the key's reason/lastError, e.g. "401 unauthenticated" */
  reason: string;
  retryAfterSec: number | undefined;
}

/** OnDemand has no distinct "out of credits" code; it shows up as text under 401/402/403/429. */
const CREDIT_TEXT = /credit|quota|billing|insufficient[\s_-]*(balance|funds)|payment[\s_-]*required|out of balance/i;
/** "quota of 100 calls per minute" under a 429 is a rate limit, not an empty account. */
const RATE_TEXT = /per[\s_-]*(minute|second|hour)|\/\s*(min|sec|s)\b|rate[\s_-]*limit|too many/i;

/** Statuses that say the request itself was wrong: another key would fail the same way. */
const CLIENT_STATUSES = new Set([400, 404, 405, 409, 410, 411, 413, 414, 415, 416, 422, 431]);

function classify(f: UpstreamFailure): FailureClass {
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

/** A model failing (500 model_error) says nothing about the key: every key gets it for that model. */
export function isModelFailure(f: UpstreamFailure): boolean {
  return f.errorCode === 'model_error';
}

/**
 * OnDemand's plugins ran past their 2.5-minute limit (504 plugin_execution_timeout, as a status or in the stream):
 * the plugin's doing, not the key's; another attempt would run (and bill) the plugins again for as long.
 */
export function isPluginTimeout(f: UpstreamFailure): boolean {
  return f.errorCode === 'plugin_execution_timeout';
}

/** The query route's 404: the upstream forgot the session (a pooled one). Not the key's fault; a fresh session fixes it. */
export function isSessionGone(f: UpstreamFailure): boolean {
  return f.kind === 'http' && f.status === 404 && f.phase === 'query';
}

function describe(f: UpstreamFailure): string {
  if (f.kind !== 'http') return f.errorCode === undefined ? f.kind : `${f.kind} ${f.errorCode}`;
  const status = f.status === undefined ? 'http' : String(f.status);
  if (f.errorCode !== undefined) return `${status} ${f.errorCode}`;
  if (f.htmlBody) return `${status} edge block`;
  return status;
}

/** The key's part of the verdict: what the pool records for a call or a probe that failed this way. */
export function judgeKey(f: UpstreamFailure): KeyJudgement {
  const cls = classify(f);
  // one broken model (or one forgotten session) must not cool every key it is tried on
  const notTheKeys = cls === 'transient' && (isModelFailure(f) || isSessionGone(f) || isPluginTimeout(f));
  const circuit: CircuitCount = cls === 'client' || cls === 'edge' || notTheKeys ? 'ignored' : cls === 'auth' ? 'other' : cls;
  const punish = !notTheKeys && cls !== 'client' && cls !== 'edge';
  return { cls, punish, circuit, reason: describe(f), retryAfterSec: f.retryAfterSec };
}

// ---- the request ---------------------------------------------------------------------------------------------

/** Same-key retries: for a pool whose other keys are all tried, a short wait on the same key beats failing. */
export interface SameKeyRetries {
  /** retries on the same key this request may still make; 0 turns them off */
  left: number;
  /** retries made so far: the backoff doubles with each */
  made: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** the longest Retry-After of a 429 waited out (ALL_KEYS_OUT_WAIT_MS); default maxDelayMs */
  maxRetryAfterMs?: number | undefined;
  /** [0, 1), injected so the jitter is reproducible */
  random: () => number;
}

export interface FailureSituation {
  /** keys this model has not tried yet: 0 once the leaser had none left; undefined while unknown (it is asked next) */
  keysLeft?: number | undefined;
  hasNextModel: boolean;
  /** milliseconds before RETRY_DEADLINE_MS; negative once it passed */
  msLeft: number;
  /** attempts this model may still make (MAX_ATTEMPTS counts per model) */
  attemptsLeft: number;
  /** part of the answer already reached the client: nothing can be retried */
  answerStarted: boolean;
  /** distinct keys this model tried, for the client's message */
  keysTried: number;
  /** the most keys any model of the plan tried (the message when the deadline stops the walk to the next model) */
  keysTriedMost?: number | undefined;
  /** undefined: no same-key retries */
  sameKey?: SameKeyRetries | undefined;
}

export type NextStep = { do: 'same_key'; waitMs: number } | { do: 'another_key' } | { do: 'next_model' } | { do: 'fail'; error: GatewayError };

export interface FailureVerdict {
  key: KeyJudgement;
  next: NextStep;
  /** the upstream forgot the session: the next attempt creates its session instead of taking a pooled one */
  freshSession: boolean;
}

/** The verdict on one failed attempt (or, with keysLeft 0, on the last failure once the leaser has no key left). */
export function decide(f: UpstreamFailure, s: FailureSituation): FailureVerdict {
  return { key: judgeKey(f), next: nextStep(f, s), freshSession: isSessionGone(f) };
}

function nextStep(f: UpstreamFailure, s: FailureSituation): NextStep {
  if (isPluginTimeout(f)) return { do: 'fail', error: pluginTimeoutError(f) };
  if (s.answerStarted) return { do: 'fail', error: clientError(f, 1, true) };
  if (f.kind === 'client_aborted') return { do: 'fail', error: clientClosedRequest() };
  const fail = (): NextStep => ({ do: 'fail', error: clientError(f, s.keysTried) });
  const nextModel = (): NextStep => (s.msLeft < 0 ? { do: 'fail', error: clientError(f, s.keysTriedMost ?? s.keysTried) } : { do: 'next_model' });
  const cls = classify(f);
  if (cls === 'client') return s.hasNextModel && isEndpointRejection(f) ? nextModel() : fail();
  // every key gets a model_error for that model: another key is a wasted call when another model is configured
  if (s.hasNextModel && isModelFailure(f) && (f.phase === 'query' || f.phase === 'stream')) return nextModel();
  const mayRetry = s.attemptsLeft > 0 && s.msLeft >= 0;
  if (mayRetry && s.keysLeft !== 0) return { do: 'another_key' };
  const waitMs = mayRetry && s.sameKey !== undefined ? sameKeyWaitMs(f, cls, s.sameKey) : undefined;
  if (waitMs !== undefined && waitMs <= s.msLeft) return { do: 'same_key', waitMs };
  return fallBackAfterKeys(f, s.hasNextModel) ? nextModel() : fail();
}

/**
 * How long to wait before trying the same key again; undefined when that is pointless (the key's own trouble, or
 * a Retry-After longer than the longest wait allowed).
 */
export function sameKeyWaitMs(f: UpstreamFailure, cls: FailureClass, r: SameKeyRetries): number | undefined {
  if (r.left <= 0 || (cls !== 'rate' && cls !== 'transient')) return undefined;
  if (isSessionGone(f)) return 0; // a fresh session is the whole fix
  if (cls === 'rate' && f.retryAfterSec !== undefined) {
    const ms = f.retryAfterSec * 1000;
    return ms <= (r.maxRetryAfterMs ?? r.maxDelayMs) ? ms : undefined;
  }
  // equal jitter: at least half the backoff, so retries of many requests do not land together
  const backoff = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** r.made);
  return Math.round(backoff / 2 + r.random() * (backoff / 2));
}

/**
 * The upstream refused the endpoint itself (unknown, inactive, not allowed): a 400/404/422 whose message names
 * the endpoint or model. Never a context-length error: that is the request's size, every model would need a look.
 */
export function isEndpointRejection(f: UpstreamFailure): boolean {
  if (f.kind !== 'http' || f.phase !== 'query') return false;
  if (f.errorCode === 'context_length_exceeded') return false;
  if (f.status !== 400 && f.status !== 404 && f.status !== 422) return false;
  return /endpoint|model|inactive/i.test(`${f.errorCode ?? ''} ${f.upstreamMessage ?? ''}`);
}

/**
 * The keys (attempts, or usable keys) ran out for this model. A server-side failure that every key tried also got
 * is the model's (or its endpoint's) trouble: move on. Key trouble (auth, rate, edge) and timeouts or network
 * errors are not about the model, and another model would meet them too.
 */
function fallBackAfterKeys(f: UpstreamFailure, hasNextModel: boolean): boolean {
  if (!hasNextModel) return false;
  // a failed media upload or session creation is not the model's doing
  if (f.phase !== 'query' && f.phase !== 'stream') return false;
  if (isModelFailure(f)) return true;
  if (classify(f) !== 'transient') return false;
  if (f.kind === 'http') return (f.status ?? 0) >= 500;
  return f.kind === 'stream_error';
}

// ---- the client ----------------------------------------------------------------------------------------------

export function pluginTimeoutError(f: UpstreamFailure): GatewayError {
  const upstreamText = f.upstreamMessage ? ` (${f.upstreamMessage})` : '';
  return gatewayError(
    'plugin_execution_timeout',
    `OnDemand's plugins ran past their time limit of 2.5 minutes${upstreamText}: plugin_execution_timeout. Not retried, as a retry would run them again; ask again or with fewer plugins.`,
  );
}

/**
 * What the client is told when the upstream failed. Our key being refused is never shown as "your key is wrong":
 * the client's key was fine, the gateway's upstream key was not.
 */
function clientError(failure: UpstreamFailure, keysTried: number, midStream = false): GatewayError {
  const tried = keysTried > 1 ? ` (after trying ${keysTried} upstream keys)` : '';
  const upstreamText = failure.upstreamMessage ? `: ${failure.upstreamMessage}` : '';
  if (midStream) {
    return gatewayError(
      failure.kind === 'idle_timeout' ? 'upstream_idle_timeout' : 'upstream_stream_interrupted',
      `the upstream stream failed after the answer started${upstreamText || ` (${failure.message})`}`,
      {
        upstreamCode: failure.errorCode,
      },
    );
  }
  switch (classify(failure)) {
    case 'client':
      if (failure.kind === 'client_aborted') return clientClosedRequest();
      return gatewayError('upstream_invalid_request', `the upstream rejected the request${upstreamText || ` (${failure.message})`}`, {
        status: failure.status === 413 || failure.status === 422 ? failure.status : 400,
        upstreamCode: failure.errorCode,
      });
    case 'auth':
      return gatewayError('upstream_key_rejected', `the upstream refused this gateway's OnDemand API key${tried}; the gateway operator must check its keys`, { retryAfterSec: 30 });
    case 'rate':
      return gatewayError('upstream_rate_limited', `the upstream is rate-limiting this gateway${tried}; retry later`, { retryAfterSec: failure.retryAfterSec ?? 10 });
    case 'edge':
      return gatewayError('upstream_edge_blocked', `the upstream's edge blocked the request${tried}`, { retryAfterSec: 30 });
    case 'transient': {
      const timeout = failure.kind.endsWith('timeout');
      return gatewayError(timeout ? 'upstream_timeout' : 'upstream_error', `the upstream failed${tried}: ${failure.message}${upstreamText}`, {
        retryAfterSec: 2,
        upstreamCode: failure.errorCode,
      });
    }
  }
}
