/**
 * Per-key and upstream-wide failure behaviors, with `times` countdown, plus the parser used by the
 * HTTP control surface.
 */
import type { BehaviorScope, KeyBehavior, KeyBehaviorSpec } from './types.js';

/** The kind of upstream call a behavior is checked against. */
export type CallKind = 'session' | 'query' | 'media';

interface Entry {
  behavior: KeyBehavior;
  /** undefined: until changed */
  remaining: number | undefined;
}

function scopeMatches(on: BehaviorScope | undefined, call: CallKind): boolean {
  const scope = on ?? 'both';
  return scope === 'both' || scope === call;
}

/** Does behavior `b` apply to a call of this kind? Stream behaviors apply to queries only. */
export function behaviorMatches(b: KeyBehavior, call: CallKind): boolean {
  switch (b.kind) {
    case 'ok':
      return false;
    case 'http':
    case 'reset':
    case 'stall':
    case 'slow':
      return scopeMatches(b.on, call);
    case 'cut':
    case 'stream_error':
    case 'stall_stream':
      return call === 'query';
  }
}

function toEntry(spec: KeyBehaviorSpec): Entry | undefined {
  if (spec.kind === 'ok') return undefined;
  const { times, ...behavior } = spec;
  if (times !== undefined && times <= 0) return undefined;
  return { behavior: behavior as KeyBehavior, remaining: times };
}

export class BehaviorStore {
  private readonly byKey = new Map<string, Entry>();
  private all: Entry | undefined;

  setKey(key: string, spec: KeyBehaviorSpec): void {
    const entry = toEntry(spec);
    if (entry) this.byKey.set(key, entry);
    else this.byKey.delete(key);
  }

  setAll(spec: KeyBehaviorSpec): void {
    this.all = toEntry(spec);
  }

  clear(): void {
    this.byKey.clear();
    this.all = undefined;
  }

  /**
   * The behavior for this call, consuming one of its `times`. The all-keys behavior wins over the key's own.
   * undefined: behave normally.
   */
  take(key: string, call: CallKind): KeyBehavior | undefined {
    if (this.all && behaviorMatches(this.all.behavior, call)) {
      const b = this.all.behavior;
      if (this.all.remaining !== undefined && --this.all.remaining <= 0) this.all = undefined;
      return b;
    }
    const entry = this.byKey.get(key);
    if (entry && behaviorMatches(entry.behavior, call)) {
      if (entry.remaining !== undefined && --entry.remaining <= 0) this.byKey.delete(key);
      return entry.behavior;
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing a behavior from JSON (control surface)

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function parseScope(raw: Record<string, unknown>): { on?: BehaviorScope } {
  const on = raw['on'];
  if (on === undefined) return {};
  if (on === 'session' || on === 'query' || on === 'media' || on === 'both') return { on };
  throw new Error('on must be one of session, query, media, both');
}

function afterDeltas(raw: Record<string, unknown>): number {
  const n = raw['afterDeltas'] ?? 0;
  if (!nonNegInt(n)) throw new Error('afterDeltas must be a non-negative integer');
  return n;
}

/** Validate a KeyBehavior (+ times) from untrusted JSON; throws Error with a readable message. */
export function parseKeyBehavior(raw: unknown): KeyBehaviorSpec {
  if (!isObj(raw)) throw new Error('body must be a JSON object');
  const times = raw['times'];
  if (times !== undefined && !(nonNegInt(times) && times > 0)) throw new Error('times must be a positive integer');
  const t: { times?: number } = times === undefined ? {} : { times };
  switch (raw['kind']) {
    case 'ok':
      return { kind: 'ok' };
    case 'http': {
      const status = raw['status'];
      if (!(typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599)) {
        throw new Error('status must be an HTTP status code');
      }
      const b: KeyBehaviorSpec = { kind: 'http', status, ...parseScope(raw), ...t };
      if (raw['body'] !== undefined) b.body = raw['body'];
      if (raw['html'] !== undefined) {
        if (typeof raw['html'] !== 'boolean') throw new Error('html must be a boolean');
        b.html = raw['html'];
      }
      const ra = raw['retryAfterSec'];
      if (ra !== undefined) {
        if (!nonNegInt(ra)) throw new Error('retryAfterSec must be a non-negative integer');
        b.retryAfterSec = ra;
      }
      return b;
    }
    case 'reset':
      return { kind: 'reset', ...parseScope(raw), ...t };
    case 'stall':
      return { kind: 'stall', ...parseScope(raw), ...t };
    case 'slow': {
      const d = raw['delayMs'];
      if (!nonNegInt(d)) throw new Error('delayMs must be a non-negative integer');
      return { kind: 'slow', delayMs: d, ...parseScope(raw), ...t };
    }
    case 'cut':
      return { kind: 'cut', afterDeltas: afterDeltas(raw), ...t };
    case 'stall_stream':
      return { kind: 'stall_stream', afterDeltas: afterDeltas(raw), ...t };
    case 'stream_error': {
      const b: KeyBehaviorSpec = { kind: 'stream_error', afterDeltas: afterDeltas(raw), ...t };
      const code = raw['errorCode'];
      const msg = raw['message'];
      if (code !== undefined) {
        if (typeof code !== 'string') throw new Error('errorCode must be a string');
        b.errorCode = code;
      }
      if (msg !== undefined) {
        if (typeof msg !== 'string') throw new Error('message must be a string');
        b.message = msg;
      }
      return b;
    }
    default:
      throw new Error('kind must be one of ok, http, reset, stall, slow, cut, stream_error, stall_stream');
  }
}
