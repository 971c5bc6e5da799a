/**
 * The key pool: which key serves a call (select.ts), how its outcome changes the key (the failure policy's key
 * judgement, src/core/failure-policy.ts, applied by key-state.ts),
 * when the upstream as a whole is to blame (circuit.ts), and what to say when no key can serve (exhausted.ts).
 * Recovery probes run from health.ts; persistence goes through a StateStore, batched off the request path.
 *
 * ── Where the keys come from (the merge rule) ──────────────────────────────────────────────────────────────
 *  - At start the pool holds ONDEMAND_APIKEYS (source "env") ∪ the config file's keys (source "file") ∪ the
 *    keys added through the admin API in earlier runs (source "admin", read back from the store).
 *  - A key listed in more than one place takes the strongest source: env > file > admin.
 *  - Stored state — dead with its next probe time, cooldowns, disabled by the operator, counters — is restored
 *    for every key that is still in the pool. Weights of env/file keys come from the configuration.
 *  - An env or file key that is no longer configured disappears, and so does its stored state. An admin key
 *    stays until it is deleted through the admin API. Deleting an env/file key through the admin API lasts
 *    until the next restart or reload (it is still configured): disable it instead to keep it out for good.
 *  - A config reload (replaceSource("file", keys)) adds the new file keys, removes the file keys that are gone
 *    and keeps the state of those that stay. Calls in flight on a removed key finish normally.
 *  - The store keeps the raw key only for admin keys; the data directory therefore holds secrets.
 */
import type { RemoteKeyChange, StateStore } from '../store/types.js';
import { judgeKey, type FailureClass } from '../core/failure-policy.js';
import { UpstreamCircuit, type Admission, type CircuitInfo, type CircuitSignal } from './circuit.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { keyInfo, setEntryState, type KeyEntry } from './entry.js';
import { assessExhaustion, circuitOpenError } from './exhausted.js';
import { fingerprintKey } from '../ondemand/key-fingerprint.js';
import { initialKeyState, isUsable, sameStatus, transition, type KeyEvent, type KeyState } from './key-state.js';
import { Lease } from './lease.js';
import type { PeerOutcomes } from '../store/types.js';
import { probeReport, runProbe, type ProbeReport } from './probe.js';
import { parseKeyState, toRecord } from './persist.js';
import { KeySelector, type KeyFilter } from './select.js';
import { StateWriter } from './state-writer.js';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from './settings.js';
import type { AcquireOptions, CallOutcome, KeyInfo, KeyLease, KeyLeaser, KeySource, KeyStatus, ProbeFn } from './types.js';

/** A configured key: the bare key, or with a weight/label (a config file may give them). */
export type KeySpec = string | { key: string; weight?: number | undefined; label?: string | undefined };

export type { ProbeReport } from './probe.js';

export type KeyPoolChange =
  | { type: 'added'; key: KeyInfo }
  | { type: 'removed'; fingerprint: string }
  | { type: 'state'; key: KeyInfo; previous: KeyStatus }
  | { type: 'circuit'; circuit: CircuitInfo };

/** One upstream call as the pool saw it, for metrics: a lease handed out, or its outcome as the policy judged it. */
export type PoolCall =
  /** failover: the request had tried other keys already */
  { type: 'leased'; fingerprint: string; failover: boolean } | { type: 'settled'; fingerprint: string; outcome: 'ok' | FailureClass };

export interface KeyPoolOptions {
  settings?: PoolSettings | undefined;
  envKeys?: readonly KeySpec[] | undefined;
  fileKeys?: readonly KeySpec[] | undefined;
  store?: StateStore | undefined;
  probe?: ProbeFn | undefined;
  clock?: Clock | undefined;
  /** other replicas' outcomes of the keys (REDIS_URL, src/store/redis-outcomes.ts): judged with this one's */
  peers?: PeerOutcomes | undefined;
  /** background failures (a store write, a listener); never thrown at a caller */
  onError?: ((err: unknown, context: string) => void) | undefined;
}

const SOURCE_RANK: Record<KeySource, number> = { env: 3, file: 2, admin: 1 };

export class KeyPool implements KeyLeaser {
  private entries: KeyEntry[] = [];
  private readonly byFp = new Map<string, KeyEntry>();
  private readonly settings: PoolSettings;
  private readonly clock: Clock;
  private readonly selector: KeySelector;
  private readonly circuit: UpstreamCircuit;
  private readonly listeners = new Set<(change: KeyPoolChange) => void>();
  private readonly callListeners = new Set<(call: PoolCall) => void>();
  private readonly store: StateStore | undefined;
  private readonly writer: StateWriter | undefined;
  private readonly probeFn: ProbeFn | undefined;
  private readonly onError: (err: unknown, context: string) => void;
  private unsubscribeStore: (() => void) | undefined;
  readonly peers: PeerOutcomes | undefined;
  private readonly unsubscribePeers: (() => void) | undefined;

  constructor(opts: KeyPoolOptions = {}) {
    this.settings = opts.settings ?? DEFAULT_POOL_SETTINGS;
    this.clock = opts.clock ?? systemClock;
    this.selector = new KeySelector();
    this.circuit = new UpstreamCircuit(this.settings.circuit);
    this.store = opts.store;
    this.probeFn = opts.probe;
    this.onError = opts.onError ?? ((err, context) => console.error(`key pool: ${context}:`, err));
    const recordOf = (fp: string, now: number) => {
      const e = this.byFp.get(fp);
      return e === undefined ? undefined : toRecord(e, now);
    };
    this.writer = opts.store && new StateWriter(opts.store, this.clock, this.settings.flushIntervalMs, recordOf, this.onError);
    for (const spec of opts.envKeys ?? []) this.upsertConfigured(spec, 'env', false);
    for (const spec of opts.fileKeys ?? []) this.upsertConfigured(spec, 'file', false);
    this.peers = opts.peers;
    this.unsubscribePeers = opts.peers?.onFailures((fps) => this.judgePeers(fps));
  }

  // ── the request path ────────────────────────────────────────────────────────────────────────────────────

  async acquire(options: AcquireOptions = {}): Promise<KeyLease> {
    const { exclude, signal, prefer } = options;
    const waitUntil = this.clock.now() + this.settings.allKeysOutWaitMs;
    for (;;) {
      signal?.throwIfAborted();
      const now = this.clock.now();
      const admission = this.circuit.admit(now);
      const holding = !admission.allow || admission.trial;
      const picked = holding ? this.pickWhileHolding(admission, exclude, prefer, now) : { entry: this.pick(exclude, prefer, now), trial: false };
      if (picked.entry !== undefined) {
        const { entry, trial } = picked;
        this.apply(entry, { type: 'tick' }, now);
        if (trial) this.touchCircuit(() => this.circuit.beginTrial(now));
        this.circuit.called(entry.fingerprint, now);
        const lease = this.lease(entry, trial);
        if (this.callListeners.size > 0) this.emitCall({ type: 'leased', fingerprint: entry.fingerprint, failover: (exclude?.size ?? 0) > 0 });
        return lease;
      }
      if (holding) {
        // a serving key due back from its own cooldown soon is worth the wait, as when no key is held
        const serving = this.entries.filter((e) => this.circuit.serving(e.fingerprint, now));
        const servingBack = assessExhaustion(serving, exclude, now, waitUntil);
        if (servingBack.kind === 'wait') {
          await sleep(this.clock, Math.max(1, servingBack.until - now), signal);
          continue;
        }
        if (!admission.allow && this.holdsAny(exclude, now)) throw circuitOpenError(admission, serving.length);
      }
      const verdict = assessExhaustion(this.entries, exclude, now, waitUntil);
      if (verdict.kind === 'fail') throw verdict.error;
      await sleep(this.clock, Math.max(1, verdict.until - now), signal);
    }
  }

  private pick(exclude: KeyFilter | undefined, prefer: string | undefined, now: number): KeyEntry | undefined {
    return preferred(this.byFp, prefer, now, exclude) ?? this.selector.pick(this.entries, now, exclude) ?? lastResort(this.entries, exclude);
  }

  /**
   * While the circuit holds the keys it judged failing, the keys still serving take the traffic. A due trial goes
   * to a held key, which is what the circuit is unsure of (a key that answers proves nothing about the others), or
   * to any key when no held key can be called (all removed, dead or disabled), lest it stay open for nothing.
   */
  private pickWhileHolding(admission: Admission, exclude: KeyFilter | undefined, prefer: string | undefined, now: number): { entry: KeyEntry | undefined; trial: boolean } {
    const circuit = this.circuit;
    if (admission.allow) {
      const heldOnly: KeyFilter = { has: (fp) => exclude?.has(fp) === true || circuit.serving(fp, now) };
      const trial =
        this.selector.pick(this.entries, now, heldOnly) ?? lastResort(this.entries, heldOnly) ?? (this.holdsCallable(now) ? undefined : this.pick(exclude, prefer, now));
      if (trial !== undefined) return { entry: trial, trial: true };
    }
    const servingOnly: KeyFilter = { has: (fp) => exclude?.has(fp) === true || !circuit.serving(fp, now) };
    return { entry: this.pick(servingOnly, prefer, now), trial: false };
  }

  /** Does the circuit hold a key this request could otherwise try? */
  private holdsAny(exclude: KeyFilter | undefined, now: number): boolean {
    return this.entries.some((e) => exclude?.has(e.fingerprint) !== true && !this.circuit.serving(e.fingerprint, now));
  }

  /** Does the circuit hold a key that could be called now, were it not held? */
  private holdsCallable(now: number): boolean {
    return this.entries.some((e) => (e.usableFrom <= now || e.state.status === 'degraded') && !this.circuit.serving(e.fingerprint, now));
  }

  /** Ignores the upstream circuit on purpose: /readyz must not fail this instance for the upstream's trouble. */
  usableCount(): number {
    const now = this.clock.now();
    let n = 0;
    for (const e of this.entries) if (isUsable(e.state, now)) n++;
    return n;
  }

  private lease(entry: KeyEntry, trial: boolean): KeyLease {
    entry.inFlight++;
    return new Lease(entry.key, entry.fingerprint, (outcome) => this.settle(entry, outcome, trial));
  }

  private settle(entry: KeyEntry, outcome: CallOutcome, trial: boolean): void {
    entry.inFlight--;
    const now = this.clock.now();
    if (outcome.ok) {
      if (this.callListeners.size > 0) this.emitCall({ type: 'settled', fingerprint: entry.fingerprint, outcome: 'ok' });
      this.recordCircuit(entry.fingerprint, 'ok', now, trial, undefined);
      this.peers?.record(entry.fingerprint, true);
      this.apply(entry, { type: 'success', latencyMs: outcome.latencyMs }, now);
      return;
    }
    const judged = judgeKey(outcome.failure);
    if (this.callListeners.size > 0) this.emitCall({ type: 'settled', fingerprint: entry.fingerprint, outcome: judged.cls });
    const verdict = this.recordCircuit(entry.fingerprint, judged.circuit, now, trial, judged.retryAfterSec);
    const event: KeyEvent = { type: 'failure', cls: judged.cls, reason: judged.reason, retryAfterSec: judged.retryAfterSec, punish: !verdict.suppress && judged.punish };
    if (judged.cls === 'transient' && event.punish === true) this.peers?.record(entry.fingerprint, false);
    this.apply(entry, event, now);
    for (const fp of verdict.forgive) {
      const other = this.byFp.get(fp);
      if (other !== undefined) this.apply(other, { type: 'forgive' }, now);
    }
  }

  private recordCircuit(fp: string, signal: CircuitSignal, now: number, trial: boolean, retryAfterSec: number | undefined) {
    return this.touchCircuit(() => this.circuit.record(fp, signal, now, { trial, retryAfterSec }));
  }

  private touchCircuit<T>(fn: () => T): T {
    const before = this.circuit.info();
    const result = fn();
    const after = this.circuit.info();
    if (before.phase !== after.phase || before.until !== after.until) this.emit({ type: 'circuit', circuit: after });
    return result;
  }

  /** The one place key state changes: persistence and listeners follow from here. */
  private apply(entry: KeyEntry, event: KeyEvent, now = this.clock.now()): void {
    if (entry.removed) return;
    const prev = entry.state;
    const judged = event.type === 'peerOutcomes' || (event.type === 'failure' && event.cls === 'transient');
    const peers = judged ? this.peers?.counts(entry.fingerprint, prev.since) : undefined;
    const next = transition(prev, event, { now, random: this.clock.random, settings: this.settings.keyState, peers });
    if (next === prev) return;
    this.setState(entry, next, true);
  }

  /** Other replicas saw these keys fail: judge their windows again (not while the upstream circuit holds). */
  private judgePeers(fingerprints: readonly string[]): void {
    if (this.circuit.info().phase !== 'closed') return;
    const now = this.clock.now();
    for (const fp of fingerprints) {
      const e = this.byFp.get(fp);
      if (e !== undefined) this.apply(e, { type: 'peerOutcomes' }, now);
    }
  }

  private setState(entry: KeyEntry, next: KeyState, persist: boolean): void {
    const prev = entry.state;
    setEntryState(entry, next, this.settings.probationShare);
    if (persist) this.markDirty(entry.fingerprint);
    if (!sameStatus(prev, next)) this.emit({ type: 'state', key: keyInfo(entry), previous: prev.status });
  }

  // ── operator control ────────────────────────────────────────────────────────────────────────────────────

  list(): KeyInfo[] {
    const now = this.clock.now();
    return this.entries.map((e) => {
      this.apply(e, { type: 'tick' }, now);
      return keyInfo(e);
    });
  }

  get(fingerprint: string): KeyInfo | undefined {
    const e = this.byFp.get(fingerprint);
    if (e === undefined) return undefined;
    this.apply(e, { type: 'tick' });
    return keyInfo(e);
  }

  circuitInfo(): CircuitInfo {
    return this.circuit.info();
  }

  /** Adds a key unless present (then `added` is false and nothing changes). */
  add(key: string, opts: { weight?: number | undefined; label?: string | undefined; source?: KeySource } = {}): { added: boolean; key: KeyInfo } {
    const trimmed = key.trim();
    if (trimmed === '') throw new TypeError('an empty key cannot be added');
    const existing = this.findByKey(trimmed);
    if (existing !== undefined) return { added: false, key: keyInfo(existing) };
    const entry = this.insert(trimmed, this.freshFingerprint(trimmed), opts.source ?? 'admin', opts.weight, opts.label, undefined);
    this.markDirty(entry.fingerprint);
    // An admin key lives only in the store: it must be there before a crash could lose it.
    void this.flush();
    return { added: true, key: keyInfo(entry) };
  }

  remove(fingerprint: string): boolean {
    const e = this.byFp.get(fingerprint);
    if (e === undefined) return false;
    this.detach([e]);
    return true;
  }

  enable(fingerprint: string): KeyInfo | undefined {
    return this.operate(fingerprint, { type: 'operatorEnable' });
  }

  disable(fingerprint: string): KeyInfo | undefined {
    return this.operate(fingerprint, { type: 'operatorDisable' });
  }

  /** Probes one key now, outside the health scheduler; the outcome moves its state like any probe. */
  async test(fingerprint: string, signal?: AbortSignal): Promise<{ outcome: ProbeReport; key: KeyInfo } | undefined> {
    const e = this.byFp.get(fingerprint);
    if (e === undefined) return undefined;
    const outcome = await this.probeKey(fingerprint, signal ?? AbortSignal.timeout(30_000));
    if (outcome === undefined) return undefined;
    return { outcome: probeReport(outcome, e.key), key: keyInfo(e) };
  }

  /** For a config reload: the given keys become exactly this source's keys; state of the survivors is kept. */
  replaceSource(source: KeySource, specs: readonly KeySpec[]): void {
    const wanted = new Set<string>();
    for (const spec of specs) {
      const entry = this.upsertConfigured(spec, source, true);
      if (entry !== undefined) wanted.add(entry.fingerprint);
    }
    this.detach(this.entries.filter((e) => e.source === source && !wanted.has(e.fingerprint)));
  }

  onChange(listener: (change: KeyPoolChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every lease and every call's outcome (metrics count them here, so a lease is never rebuilt around its key). */
  onCall(listener: (call: PoolCall) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  private operate(fingerprint: string, event: KeyEvent): KeyInfo | undefined {
    const e = this.byFp.get(fingerprint);
    if (e === undefined) return undefined;
    this.apply(e, event);
    // Operator actions are rare and must survive a crash right after them.
    void this.flush();
    return keyInfo(e);
  }

  // ── probes (health.ts drives these) ─────────────────────────────────────────────────────────────────────

  hasProbe(): boolean {
    return this.probeFn !== undefined;
  }

  /** Read-only view for the health scheduler. */
  *keyStates(): Iterable<{ fingerprint: string; state: KeyState; inFlight: number }> {
    for (const e of this.entries) yield { fingerprint: e.fingerprint, state: e.state, inFlight: e.inFlight };
  }

  /** Runs the probe on one key and applies its outcome; undefined when the key is unknown or no probe is set. */
  async probeKey(fingerprint: string, signal: AbortSignal): Promise<CallOutcome | undefined> {
    const e = this.byFp.get(fingerprint);
    if (e === undefined || this.probeFn === undefined) return undefined;
    const { outcome, verdict } = await runProbe(this.probeFn, e.key, signal);
    if (!verdict) return outcome;
    if (outcome.ok) {
      this.apply(e, { type: 'probeSuccess', latencyMs: outcome.latencyMs });
    } else {
      const judged = judgeKey(outcome.failure);
      this.apply(e, { type: 'probeFailure', cls: judged.cls, reason: judged.reason, retryAfterSec: judged.retryAfterSec });
    }
    return outcome;
  }

  // ── keys in, keys out ───────────────────────────────────────────────────────────────────────────────────

  private findByKey(key: string): KeyEntry | undefined {
    for (const digits of [8, 16]) {
      const e = this.byFp.get(fingerprintKey(key, digits));
      if (e !== undefined && e.key === key) return e;
    }
    return undefined;
  }

  /** 8 hex digits collide about once in 10⁴ pools of 1000 keys; the newcomer then gets 16. */
  private freshFingerprint(key: string): string {
    const short = fingerprintKey(key);
    return this.byFp.has(short) ? fingerprintKey(key, 16) : short;
  }

  private upsertConfigured(spec: KeySpec, source: KeySource, persist: boolean): KeyEntry | undefined {
    const { key, weight, label } = typeof spec === 'string' ? { key: spec, weight: undefined, label: undefined } : spec;
    const trimmed = key.trim();
    if (trimmed === '') return undefined;
    const existing = this.findByKey(trimmed);
    if (existing === undefined) {
      const entry = this.insert(trimmed, this.freshFingerprint(trimmed), source, weight, label, undefined);
      if (persist) this.markDirty(entry.fingerprint);
      return entry;
    }
    if (SOURCE_RANK[source] >= SOURCE_RANK[existing.source]) {
      const changed = existing.source !== source;
      existing.source = source;
      if (weight !== undefined) {
        existing.weight = validWeight(weight);
        setEntryState(existing, existing.state, this.settings.probationShare);
      }
      if (label !== undefined) existing.label = label;
      if (changed && persist) this.markDirty(existing.fingerprint);
    }
    return existing;
  }

  private insert(key: string, fingerprint: string, source: KeySource, weight: number | undefined, label: string | undefined, state: KeyState | undefined): KeyEntry {
    const entry: KeyEntry = {
      key,
      fingerprint,
      label,
      weight: validWeight(weight ?? 1),
      source,
      state: initialKeyState(this.clock.now()),
      usableFrom: -Infinity,
      effectiveWeight: 1,
      inFlight: 0,
      pass: 0,
      removed: false,
    };
    setEntryState(entry, state ?? entry.state, this.settings.probationShare);
    this.entries.push(entry);
    this.byFp.set(fingerprint, entry);
    this.emit({ type: 'added', key: keyInfo(entry) });
    return entry;
  }

  private detach(gone: readonly KeyEntry[], persist = true): void {
    if (gone.length === 0) return;
    const set = new Set(gone);
    this.entries = this.entries.filter((e) => !set.has(e));
    for (const e of gone) {
      e.removed = true;
      this.byFp.delete(e.fingerprint);
      if (persist) this.writer?.removed(e.fingerprint);
      this.emit({ type: 'removed', fingerprint: e.fingerprint });
    }
    if (persist) void this.flush();
  }

  private emitCall(call: PoolCall): void {
    this.notify(this.callListeners, call, 'call listener failed');
  }

  private emit(change: KeyPoolChange): void {
    this.notify(this.listeners, change, 'change listener failed');
  }

  private notify<T>(listeners: ReadonlySet<(value: T) => void>, value: T, context: string): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        this.onError(err, context);
      }
    }
  }

  // ── persistence ─────────────────────────────────────────────────────────────────────────────────────────

  /** Merges the store's keys and state into the configured keys (the merge rule above). */
  async restore(): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    for (const r of await store.loadKeys()) {
      let entry = this.byFp.get(r.fingerprint);
      if (entry !== undefined && r.key !== null && r.key !== entry.key) entry = undefined;
      const state = parseKeyState(r.state) ?? undefined;
      if (entry === undefined) {
        if (r.source === 'admin' && r.key !== null && r.key.trim() !== '' && this.findByKey(r.key) === undefined) {
          const fp = this.byFp.has(r.fingerprint) ? this.freshFingerprint(r.key) : r.fingerprint;
          this.insert(r.key, fp, 'admin', r.weight, r.label, state);
          if (fp !== r.fingerprint) this.writer?.removed(r.fingerprint);
        } else {
          this.writer?.removed(r.fingerprint);
        }
        continue;
      }
      if (state !== undefined) setEntryState(entry, state, this.settings.probationShare);
      // A record from when this key had another source (say, admin before it was put in env) must be rewritten,
      // or its stored raw key could bring it back after it leaves the configuration.
      if (r.source !== entry.source) this.writer?.changed(entry.fingerprint);
    }
    await this.flush();
    this.unsubscribeStore = store.subscribe?.((change) => this.applyRemote(change));
  }

  /** Another replica's change: taken as is and not written back (the store already has it). */
  private applyRemote(change: RemoteKeyChange): void {
    if (change.type === 'delete') {
      const e = this.byFp.get(change.fingerprint);
      if (e !== undefined) this.detach([e], false);
      return;
    }
    const r = change.record;
    const state = parseKeyState(r.state) ?? undefined;
    const entry = this.byFp.get(r.fingerprint);
    if (entry === undefined) {
      if (r.source === 'admin' && r.key !== null && this.findByKey(r.key) === undefined) {
        this.insert(r.key, r.fingerprint, 'admin', r.weight, r.label, state);
      }
      return;
    }
    if (state !== undefined && state !== entry.state) this.setState(entry, state, false);
  }

  private markDirty(fingerprint: string): void {
    this.writer?.changed(fingerprint);
  }

  /** Writes what changed since the last flush. Safe to call any time; calls are serialised. */
  flush(): Promise<void> {
    return this.writer?.flush() ?? Promise.resolve();
  }

  /** For shutdown: stop the timer, write everything. The store itself is closed by its owner. */
  async close(): Promise<void> {
    this.unsubscribePeers?.();
    this.unsubscribeStore?.();
    this.unsubscribeStore = undefined;
    await this.flush();
  }
}

/**
 * A key that is out only for a transient cooldown (degraded) still serves when no other key can: the cooldown is
 * there to steer traffic to the other keys, and with none (a one-key pool, or all of them tried) failing the
 * request helps nobody. The one due back first; its state is judged by the call's outcome as usual.
 */
/** The key asked for by fingerprint, when it can serve now (its account holds a session being continued). */
function preferred(byFp: ReadonlyMap<string, KeyEntry>, fp: string | undefined, now: number, exclude: KeyFilter | undefined): KeyEntry | undefined {
  if (fp === undefined || exclude?.has(fp) === true) return undefined;
  const e = byFp.get(fp);
  return e !== undefined && !e.removed && e.usableFrom <= now ? e : undefined;
}

function lastResort(entries: readonly KeyEntry[], exclude: KeyFilter | undefined): KeyEntry | undefined {
  let best: KeyEntry | undefined;
  for (const e of entries) {
    if (e.state.status !== 'degraded' || exclude?.has(e.fingerprint) === true) continue;
    if (best === undefined || (e.state.until ?? 0) < (best.state.until ?? 0)) best = e;
  }
  return best;
}

function validWeight(w: number): number {
  return Number.isFinite(w) && w > 0 ? w : 1;
}
