/**
 * What acquire() says when no key can serve: wait briefly if one is about to return, otherwise fail fast with an
 * error that tells the client why (per-state counts and reasons) and when to come back. Never a raw key.
 */
import { type GatewayError, gatewayError } from '../core/errors.js';
import type { Admission } from './circuit.js';
import type { KeyEntry } from './entry.js';
import { isUsable } from './key-state.js';

export type Exhaustion = { kind: 'wait'; until: number } | { kind: 'fail'; error: GatewayError };

type Group = 'dead' | 'cooling' | 'degraded' | 'disabled' | 'tried';
const GROUP_ORDER: readonly Group[] = ['dead', 'cooling', 'degraded', 'disabled', 'tried'];

interface GroupTally {
  count: number;
  reasons: Map<string, number>;
  earliestUntil: number | undefined;
}

/** `waitUntil`: the latest moment this request is still willing to wait for a key to come back. */
export function assessExhaustion(entries: readonly KeyEntry[], exclude: ReadonlySet<string> | undefined, now: number, waitUntil: number): Exhaustion {
  if (entries.length === 0) {
    return fail(gatewayError('no_upstream_keys_available', 'no upstream keys are configured', { shouldRetry: false }));
  }
  const groups = new Map<Group, GroupTally>();
  let nextReturn: number | undefined;
  let firstDue: number | undefined;
  for (const e of entries) {
    const s = e.state;
    const tried = exclude?.has(e.fingerprint) === true;
    const group: Group = isUsable(s, now) ? 'tried' : (s.status as Group);
    const due = group === 'tried' ? now : (s.until ?? undefined);
    if (due !== undefined && group !== 'disabled') firstDue = Math.min(firstDue ?? due, due);
    if (!tried && (group === 'cooling' || group === 'degraded') && due !== undefined) nextReturn = Math.min(nextReturn ?? due, due);
    tally(groups, group, group === 'tried' ? 'already tried for this request' : s.reason, due);
  }
  if (nextReturn !== undefined && nextReturn <= waitUntil) return { kind: 'wait', until: nextReturn };

  const onlyRateLimited = groups.size === 1 && groups.has('cooling');
  const n = entries.length;
  const message = `all ${n} upstream key${n === 1 ? ' is' : 's are'} unavailable: ${describe(groups)}`;
  const retryAfterSec = firstDue === undefined ? undefined : Math.max(1, Math.ceil((firstDue - now) / 1000));
  const timing = retryAfterSec === undefined ? { shouldRetry: false } : { retryAfterSec };
  return fail(onlyRateLimited ? gatewayError('all_keys_rate_limited', message, timing) : gatewayError('no_upstream_keys_available', message, timing));
}

/**
 * The upstream circuit holds the keys this request could still try, and no key that is still answering can take
 * it: answer at once instead of spending keys on a known outage. `serving`: the keys still answering (all tried by
 * this request, or cooling).
 */
export function circuitOpenError(denied: Extract<Admission, { allow: false }>, serving: number): GatewayError {
  const retryAfterSec = Math.max(1, Math.ceil(denied.retryAfterMs / 1000));
  const message =
    serving === 0
      ? `the upstream is failing for every key (${denied.reason}); calls are held, retry in ${retryAfterSec} s`
      : `the upstream is failing for most keys (${denied.reason}); the ${serving} still answering could not take this request and calls to the others are held, retry in ${retryAfterSec} s`;
  return denied.cls === 'rate' ? gatewayError('upstream_rate_limited', message, { retryAfterSec }) : gatewayError('upstream_unavailable', message, { retryAfterSec });
}

function fail(error: GatewayError): Exhaustion {
  return { kind: 'fail', error };
}

function tally(groups: Map<Group, GroupTally>, group: Group, reason: string, due: number | undefined): void {
  let g = groups.get(group);
  if (g === undefined) {
    g = { count: 0, reasons: new Map(), earliestUntil: undefined };
    groups.set(group, g);
  }
  g.count++;
  if (reason !== '') g.reasons.set(reason, (g.reasons.get(reason) ?? 0) + 1);
  if (due !== undefined) g.earliestUntil = Math.min(g.earliestUntil ?? due, due);
}

function describe(groups: Map<Group, GroupTally>): string {
  const parts: string[] = [];
  for (const name of GROUP_ORDER) {
    const g = groups.get(name);
    if (g === undefined) continue;
    let text = name === 'tried' ? `${g.count} already tried for this request` : `${g.count} ${name}`;
    if (g.earliestUntil !== undefined && (name === 'cooling' || name === 'degraded')) {
      text += ` until ${new Date(g.earliestUntil).toISOString()}`;
    }
    if (name !== 'tried' && g.reasons.size > 0) text += ` (${reasons(g)})`;
    parts.push(text);
  }
  return parts.join(', ');
}

function reasons(g: GroupTally): string {
  if (g.reasons.size === 1) return [...g.reasons.keys()].join('');
  const sorted = [...g.reasons].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, 3).map(([r, c]) => `${c} × ${r}`);
  if (sorted.length > 3) shown.push('…');
  return shown.join(', ');
}
