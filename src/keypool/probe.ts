/** Running the injected probe safely: whatever it throws becomes an outcome, and the raw key never leaks out. */
import { UpstreamFailure } from '../ondemand/failure.js';
import { judgeKey } from '../core/failure-policy.js';
import type { CallOutcome, FailureClass, ProbeFn } from './types.js';

/** A probe's result in a JSON-safe shape (an UpstreamFailure does not serialise). */
export type ProbeReport = { ok: true; latencyMs: number } | { ok: false; class: FailureClass; reason: string; message: string };

/**
 * `verdict` false: the probe was cancelled (shutdown, an operator's client gone) and says nothing about the key.
 * A probe cut by a timeout (an abort with a TimeoutError reason) is a verdict: it timed out.
 */
export async function runProbe(probe: ProbeFn, key: string, signal: AbortSignal): Promise<{ outcome: CallOutcome; verdict: boolean }> {
  let outcome: CallOutcome;
  try {
    outcome = await probe(key, signal);
  } catch (err) {
    if (err instanceof UpstreamFailure) {
      outcome = { ok: false, failure: err };
    } else {
      const text = err instanceof Error ? err.message : String(err);
      const kind = signal.aborted ? 'client_aborted' : 'network';
      outcome = { ok: false, failure: new UpstreamFailure(`probe failed: ${scrub(text, key)}`, { kind, phase: 'probe', cause: err }) };
    }
  }
  if (!signal.aborted) return { outcome, verdict: true };
  if (!isTimeout(signal.reason)) return { outcome, verdict: false };
  return { outcome: { ok: false, failure: new UpstreamFailure('probe timed out', { kind: 'first_byte_timeout', phase: 'probe' }) }, verdict: true };
}

export function probeReport(outcome: CallOutcome, key: string): ProbeReport {
  if (outcome.ok) return { ok: true, latencyMs: outcome.latencyMs };
  const f = outcome.failure;
  const judged = judgeKey(f);
  return { ok: false, class: judged.cls, reason: judged.reason, message: scrub(f.message, key) };
}

function scrub(text: string, key: string): string {
  return text.split(key).join('[key]');
}

function isTimeout(reason: unknown): boolean {
  return typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError';
}
