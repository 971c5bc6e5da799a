import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { clientClosed } from '../ondemand/failure.js';
import { toFailure } from '../upstream/exchange.js';
import { sessionsCreatedWhenNeeded } from '../upstream/session-pool.js';
import { UpstreamFailure, type UpstreamFailureInit } from '../ondemand/failure.js';
import type { UpstreamEvent } from '../ondemand/frames.js';
import { createModelRouter } from '../ondemand/models.js';
import type { OnDemandQueryBody } from '../ondemand/query.js';
import { ANSWER_STAGES } from './answer.js';
import { answerBatches, collectAnswer } from './test-helpers.js';
import { Engine, type CompletionHandle, type EngineDeps } from './engine.js';
import { GatewayError } from './errors.js';
import { createModelPlanner, type ModelPlanner } from './model-plan.js';
import { DEFAULT_PLUGIN_SETTINGS, rejection } from './test-helpers.js';
import { countTokens } from './tokens.js';
import type {
  AcquireOptions,
  AttemptObserver,
  AttemptStart,
  CallOutcome,
  KeyLease,
  Leaser,
  ReadListener,
  SessionSource,
  TraceHeaders,
  UpstreamCalls,
  UpstreamReader,
} from './ports.js';
import type { GatewayEvent, GatewayRequest } from './types.js';

// ---- a scripted upstream, a leaser and sessions, all in memory --------------------------------------------

/** One read of the answer: events, a failure thrown by next(), or a read that waits until the call is aborted. */
type Read = UpstreamEvent[] | UpstreamFailure | 'hang';
/** One query: the upstream refuses it, or answers with these reads (then the body ends). */
type Script = { refuse: UpstreamFailure } | { reads: Read[] } | 'hang';

class FakeReader implements UpstreamReader {
  finished = false;
  destroyed = false;
  private pending: ((failure: UpstreamFailure) => void) | undefined;
  private listener: ReadListener | undefined;
  private held = false;
  private pumping = false;

  constructor(
    private readonly reads: Read[],
    signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.pending?.(clientClosed('stream')), { once: true });
  }

  next(): Promise<UpstreamEvent[]> {
    const read = this.reads.shift();
    if (read === undefined) return Promise.resolve([]);
    if (read instanceof UpstreamFailure) return Promise.reject(read);
    if (read === 'hang') return new Promise((_resolve, reject) => (this.pending = reject));
    return Promise.resolve(read);
  }

  listen(listener: ReadListener): void {
    this.listener = listener;
    void this.pump();
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    void this.pump();
  }

  finish(): void {
    this.finished = true;
    this.listener = undefined;
  }

  destroy(): void {
    this.destroyed = true;
    this.listener = undefined;
    this.pending?.(clientClosed('stream'));
  }

  /** the scripted reads to the listener, one by one, while it does not hold */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.listener !== undefined && !this.held) {
        let batch: UpstreamEvent[];
        try {
          batch = await this.next();
        } catch (err) {
          const listener = this.listener;
          this.listener = undefined;
          listener?.fail(err as UpstreamFailure);
          return;
        }
        const listener = this.listener;
        if (listener === undefined) return;
        if (batch.length > 0) listener.read(batch);
        else {
          this.listener = undefined;
          listener.end();
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

class FakeUpstream implements UpstreamCalls {
  readonly created: string[] = [];
  readonly queries: { key: string; sessionId: string; body: OnDemandQueryBody; trace?: TraceHeaders | undefined }[] = [];
  readonly readers: FakeReader[] = [];
  constructor(private readonly scripts: Script[]) {}

  readonly toFailure = toFailure;

  async createSession(key: string): Promise<string> {
    this.created.push(key);
    return `fresh-${this.created.length}`;
  }

  openQuery(key: string, sessionId: string, body: OnDemandQueryBody, signal: AbortSignal, trace?: TraceHeaders): Promise<UpstreamReader> {
    this.queries.push({ key, sessionId, body, trace });
    const script = this.scripts.shift() ?? { reads: answer('ok') };
    if (script === 'hang') return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(clientClosed('query')), { once: true }));
    if ('refuse' in script) return Promise.reject(script.refuse);
    const reader = new FakeReader(script.reads, signal);
    this.readers.push(reader);
    return Promise.resolve(reader);
  }
}

class FakeLeaser implements Leaser {
  readonly released: { fingerprint: string; outcome: CallOutcome }[] = [];
  readonly acquired: { fingerprint: string; excluded: string[] }[] = [];
  readonly preferred: (string | undefined)[] = [];
  /** keys that cannot serve now (a preference for them is not honoured) */
  readonly out = new Set<string>();
  constructor(private readonly keys: string[]) {}

  async acquire(options: AcquireOptions = {}): Promise<KeyLease> {
    this.preferred.push(options.prefer);
    const usable = (k: string) => !options.exclude?.has(fp(k)) && !this.out.has(k);
    const key = this.keys.find((k) => fp(k) === options.prefer && usable(k)) ?? this.keys.find(usable);
    if (key === undefined) throw new GatewayError('no upstream key is available', { status: 503, type: 'api_error', code: 'no_upstream_keys_available' });
    this.acquired.push({ fingerprint: fp(key), excluded: [...(options.exclude ?? [])] });
    let settled = false;
    return {
      key,
      fingerprint: fp(key),
      release: (outcome) => {
        if (settled) return;
        settled = true;
        this.released.push({ fingerprint: fp(key), outcome });
      },
    };
  }

  outcomes(): string[] {
    return this.released.map((r) => `${r.fingerprint}:${r.outcome.ok ? 'ok' : r.outcome.failure.kind === 'http' ? r.outcome.failure.status : r.outcome.failure.kind}`);
  }
}

class FakeSessions implements SessionSource {
  taken = 0;
  readonly discarded: string[] = [];
  async take(): Promise<string> {
    return `pooled-${++this.taken}`;
  }
  discard(key: string): void {
    this.discarded.push(key);
  }
}

const fp = (key: string) => `k:${key}`;
const http = (status: number, extra: Partial<UpstreamFailureInit> = {}) => new UpstreamFailure(`HTTP ${status}`, { kind: 'http', phase: 'query', status, ...extra });
const answer = (...texts: string[]): UpstreamEvent[][] => [
  ...texts.map((text): UpstreamEvent[] => [{ type: 'delta', text }]),
  [{ type: 'metrics', inputTokens: 3, outputTokens: 2, totalTokens: 5 }, { type: 'done' }],
];

const request = (extra: Partial<GatewayRequest> = {}): GatewayRequest => ({
  api: 'chat',
  requestedModel: 'gpt-4o',
  stream: true,
  params: {},
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

const twoModels: ModelPlanner = {
  plan: (req) => [
    { model: 'first', endpointId: 'ep-first', request: req },
    { model: 'second', endpointId: 'ep-second', request: req },
  ],
};

/** The engine as the gateway builds it, over this upstream and leaser: the planner on the built-in models, no media step. */
function engineDeps(deps: Pick<EngineDeps, 'settings' | 'leaser' | 'upstream'> & Partial<EngineDeps>): EngineDeps {
  return {
    sessions: sessionsCreatedWhenNeeded(deps.upstream),
    planner: createModelPlanner({ router: createModelRouter({ defaultModel: 'gpt-4o' }), defaultModel: 'gpt-4o' }),
    prepareSession: () => undefined,
    stages: ANSWER_STAGES,
    now: () => performance.now(),
    random: Math.random,
    plugins: DEFAULT_PLUGIN_SETTINGS,
    ...deps,
  };
}

function setup(
  scripts: Script[],
  opts: { keys?: string[]; clock?: () => number; sessions?: boolean } & Partial<Pick<EngineDeps, 'planner'>> & {
      maxAttempts?: number;
      deadlineMs?: number;
      sameKey?: boolean;
    } = {},
) {
  const upstream = new FakeUpstream(scripts);
  const leaser = new FakeLeaser(opts.keys ?? ['a', 'b', 'c']);
  const sessions = opts.sessions === false ? undefined : new FakeSessions();
  const engine = new Engine(
    engineDeps({
      settings: {
        maxAttempts: opts.maxAttempts ?? 3,
        retryDeadlineMs: opts.deadlineMs ?? 60_000,
        ...(opts.sameKey === true ? { sameKey: { baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 50 } } : {}),
      },
      leaser,
      upstream,
      ...(sessions ? { sessions } : {}),
      ...(opts.planner ? { planner: opts.planner } : {}),
      ...(opts.clock ? { now: opts.clock } : {}),
      random: () => 0.5,
    }),
  );
  return { engine, upstream, leaser, sessions };
}

async function drain(handle: CompletionHandle): Promise<GatewayEvent[]> {
  const out: GatewayEvent[] = [];
  for await (const batch of answerBatches(handle)) out.push(...batch);
  return out;
}

const texts = (events: GatewayEvent[]) => events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');

// ---- the tests -----------------------------------------------------------------------------------------------

describe('Engine: before the first byte', () => {
  it('fails over to another key, and releases each key with its own outcome', async () => {
    const { engine, leaser, upstream } = setup([{ refuse: http(502) }, { reads: [[{ type: 'keepalive' }], ...answer('Hel', 'lo')] }]);
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    expect(handle).toMatchObject({ attempts: 2, keyFingerprint: 'k:b', endpointId: 'predefined-openai-gpt4o', model: 'gpt-4o' });
    const events = await drain(handle);
    expect(texts(events)).toBe('Hello');
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5, estimated: false } },
      { type: 'end', finishReason: 'stop' },
    ]);
    expect(leaser.outcomes()).toEqual(['k:a:502', 'k:b:ok']);
    expect(leaser.acquired.map((a) => a.excluded)).toEqual([[], ['k:a']]);
    expect(handle.result).toMatchObject({ outcome: 'ok', usage: { totalTokens: 5 } });
    expect(upstream.readers[0]?.finished).toBe(true);
  });

  it('a non-stream answer cut before [DONE] is retried on another key', async () => {
    const { engine, leaser } = setup([{ reads: [[{ type: 'delta', text: 'partial' }]] }, { reads: answer('whole') }]);
    const handle = await engine.startCompletion(request({ stream: false }), new AbortController().signal);
    expect((await collectAnswer(answerBatches(handle))).text).toBe('whole');
    expect(leaser.outcomes()).toEqual(['k:a:stream_error', 'k:b:ok']);
  });

  it('a vanished session (404 on the query) is retried on a freshly created session, and the key is not blamed for it', async () => {
    const { engine, leaser, upstream, sessions } = setup([{ refuse: http(404) }]);
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    await drain(handle);
    expect(upstream.queries.map((q) => q.sessionId)).toEqual(['pooled-1', 'fresh-1']);
    expect(sessions?.discarded).toEqual(['a']);
    // released with the failure as it was; the pool's policy judgement then spares the key
    expect(leaser.outcomes()).toEqual(['k:a:404', 'k:b:ok']);
  });

  it('a model error moves on to the next model of the plan, on a fresh set of keys', async () => {
    const { engine, leaser, upstream } = setup([{ refuse: http(500, { errorCode: 'model_error' }) }], { planner: twoModels });
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    expect(handle).toMatchObject({ model: 'second', endpointId: 'ep-second', attempts: 2, keyFingerprint: 'k:a' });
    expect(upstream.queries.map((q) => q.body.endpointId)).toEqual(['ep-first', 'ep-second']);
    expect(leaser.acquired.map((a) => a.excluded)).toEqual([[], []]);
    await drain(handle);
  });

  it('without a next model a model error goes to another key', async () => {
    const { engine, leaser } = setup([{ refuse: http(500, { errorCode: 'model_error' }) }]);
    await drain(await engine.startCompletion(request(), new AbortController().signal));
    expect(leaser.outcomes()).toEqual(['k:a:500', 'k:b:ok']);
  });

  it('a client error is not retried: the client gets it', async () => {
    const { engine, leaser } = setup([{ refuse: http(400, { errorCode: 'invalid_request', upstreamMessage: 'bad temperature' }) }]);
    const err = await rejection(engine.startCompletion(request(), new AbortController().signal));
    expect(err).toMatchObject({ status: 400, code: 'invalid_request', message: 'the upstream rejected the request: bad temperature' });
    expect(leaser.outcomes()).toEqual(['k:a:400']);
  });

  it('every key failing: the last failure explains, counting the keys tried', async () => {
    const { engine, leaser } = setup([{ refuse: http(502) }, { refuse: http(502) }, { refuse: http(502) }]);
    const err = await rejection(engine.startCompletion(request(), new AbortController().signal));
    expect(err).toMatchObject({ status: 502, code: 'upstream_error', message: 'the upstream failed (after trying 3 upstream keys): HTTP 502' });
    expect(leaser.acquired).toHaveLength(3);
  });

  it('the keys running out: the last failure explains instead of the leaser', async () => {
    const { engine } = setup([{ refuse: http(401, { errorCode: 'unauthenticated' }) }, { refuse: http(401, { errorCode: 'unauthenticated' }) }], { keys: ['a', 'b'] });
    const err = await rejection(engine.startCompletion(request(), new AbortController().signal));
    expect(err).toMatchObject({ status: 503, code: 'upstream_key_rejected', message: expect.stringContaining('(after trying 2 upstream keys)') });
  });

  it("nothing tried: the leaser's own error stands, and no next model is tried", async () => {
    const { engine, upstream } = setup([], { keys: [], planner: twoModels });
    const err = await rejection(engine.startCompletion(request(), new AbortController().signal));
    expect(err).toMatchObject({ status: 503, code: 'no_upstream_keys_available' });
    expect(upstream.queries).toEqual([]);
  });

  it('the retry deadline stops further attempts', async () => {
    let t = 0;
    const { engine, leaser } = setup([{ refuse: http(502) }, { refuse: http(502) }], { clock: () => t, deadlineMs: 1_000 });
    const upstreamCall = engine.startCompletion(request(), new AbortController().signal);
    t = 1_001; // the first attempt took past the deadline
    const err = await rejection(upstreamCall);
    expect(err).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(leaser.acquired).toHaveLength(1);
  });

  it('the retry deadline also stops the walk to the next model', async () => {
    let t = 0;
    const { engine, upstream } = setup([{ refuse: http(500, { errorCode: 'model_error' }) }], { clock: () => t, deadlineMs: 1_000, planner: twoModels });
    const call = engine.startCompletion(request(), new AbortController().signal);
    t = 5_000;
    expect(await rejection(call)).toMatchObject({ status: 502, code: 'model_error' });
    expect(upstream.queries).toHaveLength(1);
  });

  it('MAX_ATTEMPTS counts per model', async () => {
    const { engine, leaser } = setup([{ refuse: http(502) }, { refuse: http(502) }], { maxAttempts: 2 });
    expect(await rejection(engine.startCompletion(request(), new AbortController().signal))).toMatchObject({
      status: 502,
      message: expect.stringContaining('after trying 2 upstream keys'),
    });
    expect(leaser.acquired).toHaveLength(2);
  });
});

describe('Engine: after the answer started', () => {
  it('a mid-stream error reaches the consumer as the GatewayError, after what came before it, and the key is released with the failure', async () => {
    const { engine, leaser, upstream } = setup([
      {
        reads: [
          [{ type: 'delta', text: 'Hel' }],
          [
            { type: 'delta', text: 'lo' },
            { type: 'error', message: 'model crashed', errorCode: 'model_error' },
          ],
        ],
      },
    ]);
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    const seen: GatewayEvent[] = [];
    let thrown: unknown;
    try {
      for await (const batch of answerBatches(handle)) seen.push(...batch);
    } catch (err) {
      thrown = err;
    }
    expect(texts(seen)).toBe('Hello');
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ status: 502, code: 'model_error', message: 'the upstream stream failed after the answer started: model crashed' });
    expect(leaser.outcomes()).toEqual(['k:a:stream_error']);
    expect(handle.result.outcome).toBe('error');
    expect(upstream.readers[0]?.destroyed).toBe(true);
  });
});

describe('Engine: the client leaving', () => {
  it('before the answer: the upstream call is aborted, the lease released as client_aborted, the client told 499', async () => {
    const { engine, leaser } = setup(['hang']);
    const abort = new AbortController();
    const call = engine.startCompletion(request(), abort.signal);
    await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort();
    expect(await rejection(call)).toMatchObject({ status: 499, code: 'client_closed_request' });
    expect(leaser.outcomes()).toEqual(['k:a:client_aborted']);
    expect(leaser.acquired).toHaveLength(1);
  });

  it('before the first event: a reader waiting on the upstream is destroyed', async () => {
    const { engine, leaser, upstream } = setup([{ reads: ['hang'] }]);
    const abort = new AbortController();
    const call = engine.startCompletion(request(), abort.signal);
    await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort();
    expect(await rejection(call)).toMatchObject({ status: 499 });
    expect(upstream.readers[0]?.destroyed).toBe(true);
    expect(leaser.outcomes()).toEqual(['k:a:client_aborted']);
  });

  it('during the stream (cancel): upstream destroyed, lease released as clientClosed, outcome aborted', async () => {
    const { engine, leaser, upstream } = setup([{ reads: [[{ type: 'delta', text: 'Hel' }], 'hang'] }]);
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    handle.cancel();
    handle.cancel();
    expect(upstream.readers[0]?.destroyed).toBe(true);
    expect(leaser.released).toHaveLength(1);
    expect(leaser.released[0]?.outcome).toMatchObject({ ok: false, failure: { kind: 'client_aborted', phase: 'stream' } });
    expect(handle.result.outcome).toBe('aborted');
  });

  it('during the stream (the consumer stops reading): the same', async () => {
    const { engine, leaser, upstream } = setup([{ reads: [[{ type: 'delta', text: 'Hel' }], [{ type: 'delta', text: 'lo' }], 'hang'] }]);
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    for await (const batch of answerBatches(handle)) {
      expect(batch).toEqual([{ type: 'text', text: 'Hel' }]);
      break;
    }
    expect(upstream.readers[0]?.destroyed).toBe(true);
    expect(leaser.released[0]?.outcome).toMatchObject({ ok: false, failure: { kind: 'client_aborted' } });
    expect(handle.result.outcome).toBe('aborted');
  });

  it('during the stream (the signal aborts while a read waits): outcome aborted, lease released as client_aborted', async () => {
    const { engine, leaser, upstream } = setup([{ reads: [[{ type: 'delta', text: 'Hel' }], 'hang'] }]);
    const abort = new AbortController();
    const handle = await engine.startCompletion(request(), abort.signal);
    const reading = drain(handle).then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort();
    expect(await reading).toBeInstanceOf(GatewayError);
    expect(upstream.readers[0]?.destroyed).toBe(true);
    expect(leaser.outcomes()).toEqual(['k:a:client_aborted']);
    expect(handle.result.outcome).toBe('aborted');
  });
});

describe('Engine: the answer stages', () => {
  const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];

  it('a tool-call answer comes out as tool calls, and the query carries the <tools> section', async () => {
    const { engine, upstream } = setup([{ reads: answer('<tool_call name="get_weather">', '{"city": "Paris"}</tool_call>') }]);
    const handle = await engine.startCompletion(request({ tools }), new AbortController().signal);
    const events = await drain(handle);
    expect(upstream.queries[0]?.body.query).toMatch(/^hi\n\n<tools>\n[\s\S]*"get_weather"[\s\S]*<\/tools>$/);
    expect(events.filter((e) => e.type !== 'usage')).toEqual([
      { type: 'tool_calls', calls: [{ id: expect.stringMatching(/^call_[0-9a-f]{24}$/), name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { type: 'end', finishReason: 'tool_calls' },
    ]);
  });

  it('a JSON answer is cut to its value, after the tool stage, and a broken one is reported on the log', async () => {
    const { engine, upstream } = setup([{ reads: answer('Here it is:\n```json\n{"a": 1}', '\n```\nEnjoy!') }, { reads: answer('no json here') }]);
    const req = request({ stream: false, responseFormat: { type: 'json_object' } });
    const warnings: string[] = [];
    const log = { warn: (_obj: object, msg: string) => warnings.push(msg) };
    const first = await collectAnswer(answerBatches(await engine.startCompletion(req, new AbortController().signal, { log })));
    expect(first).toMatchObject({ text: '{"a": 1}', finishReason: 'stop' });
    expect(upstream.queries[0]?.body.query).toMatch(/^hi\n\n<response_format>\n[\s\S]*<\/response_format>$/);
    const second = await collectAnswer(answerBatches(await engine.startCompletion(req, new AbortController().signal, { log })));
    expect(second.text).toBe('no json here');
    expect(warnings).toEqual(['the model did not answer with the JSON asked for; returned as it came']);
  });
});

describe('Engine: usage', () => {
  it.each([
    ['a short answer', 4],
    ['an answer of 200 KiB, far past the text the count keeps', 200],
  ])('without a metricsLog, %s is counted here and marked estimated, as its whole text counts', async (_name, kib) => {
    const piece = 'The gateway counts what the upstream did not report, déjà vu 42 times.\n';
    const deltas = Array.from({ length: Math.ceil((kib * 1024) / piece.length / 8) }, () => piece.repeat(8));
    const { engine } = setup([{ reads: [...deltas.map((text): UpstreamEvent[] => [{ type: 'delta', text }]), [{ type: 'done' }]] }]);
    const events = await drain(await engine.startCompletion(request(), new AbortController().signal));
    const outputTokens = countTokens(deltas.join(''));
    expect(events.at(-2)).toEqual({ type: 'usage', usage: { inputTokens: countTokens('hi'), outputTokens, totalTokens: countTokens('hi') + outputTokens, estimated: true } });
  });
});

describe('Engine: max_tokens, enforced here', () => {
  // four deltas of the answer "Hello from the OnDemand simulator"; the metrics would only come with [DONE]
  const reads = (): UpstreamEvent[][] => answer('Hello', ' from the', ' OnDemand', ' simulator');

  it.each([true, false])('stream %s: the answer stops at the limit, the upstream is aborted, the key released as a success', async (stream) => {
    const { engine, upstream, leaser } = setup([{ reads: reads() }]);
    const handle = await engine.startCompletion(request({ stream, params: { maxTokens: 2, temperature: 0.5 } }), new AbortController().signal);
    const events = await drain(handle);
    expect(texts(events)).toBe('Hello from');
    const usage = { inputTokens: countTokens('hi'), outputTokens: 2, totalTokens: countTokens('hi') + 2, estimated: true };
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage },
      { type: 'end', finishReason: 'length' },
    ]);
    expect(handle.result).toEqual({ outcome: 'ok', usage, finishReason: 'length' });
    expect(leaser.outcomes()).toEqual(['k:a:ok']);
    // destroyed, not finished: not read to [DONE], a non-stream answer included
    const reader = upstream.readers[0];
    expect([reader?.destroyed, reader?.finished]).toEqual([true, false]);
    expect(upstream.queries[0]?.body.modelConfigs).toEqual({ temperature: 0.5 });
  });

  it('an answer within the limit is unchanged: same events, the connection reused, the upstream usage', async () => {
    const plain = setup([{ reads: reads() }]);
    const limited = setup([{ reads: reads() }]);
    const a = await drain(await plain.engine.startCompletion(request(), new AbortController().signal));
    const limitedHandle = await limited.engine.startCompletion(request({ params: { maxTokens: 1000 } }), new AbortController().signal);
    expect(await drain(limitedHandle)).toEqual(a);
    expect(limitedHandle.result).toEqual({ outcome: 'ok', usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5, estimated: false }, finishReason: 'stop' });
    expect(limited.upstream.readers[0]?.finished).toBe(true);
  });

  it('UPSTREAM_MAX_TOKENS sends it upstream as well', async () => {
    const upstream = new FakeUpstream([{ reads: reads() }]);
    const engine = new Engine(engineDeps({ settings: { maxAttempts: 1, retryDeadlineMs: 60_000, upstreamMaxTokens: true }, leaser: new FakeLeaser(['a']), upstream }));
    const events = await drain(await engine.startCompletion(request({ params: { maxTokens: 2 } }), new AbortController().signal));
    expect(upstream.queries[0]?.body.modelConfigs).toEqual({ maxTokens: 2 });
    expect(texts(events)).toBe('Hello from');
  });
});

describe('Engine: an attempt observer (the request trace)', () => {
  /** Records each attempt's start and end; each attempt's headers name it. */
  class RecordingObserver implements AttemptObserver {
    readonly seen: string[] = [];
    attemptStarted(a: AttemptStart) {
      this.seen.push(`start ${a.number} ${a.keyFingerprint} ${a.model} ${a.endpointId}`);
      return {
        headers: { traceparent: `attempt-${a.number}` },
        ended: (outcome: CallOutcome) =>
          void this.seen.push(`end ${a.number} ${outcome.ok ? 'ok' : outcome.failure.kind === 'http' ? outcome.failure.status : outcome.failure.kind}`),
      };
    }
  }

  it('sees every attempt of a failover start and end once, and each query carries its own attempt headers', async () => {
    const { engine, upstream, leaser } = setup([{ refuse: http(502) }, { reads: answer('Hi') }]);
    const observer = new RecordingObserver();
    const handle = await engine.startCompletion(request(), new AbortController().signal, { observer });
    await drain(handle);
    expect(observer.seen).toEqual(['start 1 k:a gpt-4o predefined-openai-gpt4o', 'end 1 502', 'start 2 k:b gpt-4o predefined-openai-gpt4o', 'end 2 ok']);
    expect(upstream.queries.map((q) => q.trace)).toEqual([{ traceparent: 'attempt-1' }, { traceparent: 'attempt-2' }]);
    expect(leaser.outcomes()).toEqual(['k:a:502', 'k:b:ok']);
  });

  it('a stream the client leaves ends its attempt once, as the lease is released', async () => {
    const { engine, leaser } = setup([{ reads: [[{ type: 'delta', text: 'Hel' }], 'hang'] }]);
    const observer = new RecordingObserver();
    const handle = await engine.startCompletion(request(), new AbortController().signal, { observer });
    handle.cancel();
    handle.cancel();
    expect(observer.seen).toEqual(['start 1 k:a gpt-4o predefined-openai-gpt4o', 'end 1 client_aborted']);
    expect(leaser.outcomes()).toEqual(['k:a:client_aborted']);
  });

  it('without an observer nothing is added to the upstream calls', async () => {
    const { engine, upstream } = setup([{ reads: answer('Hi') }]);
    await drain(await engine.startCompletion(request(), new AbortController().signal));
    expect(upstream.queries[0]?.trace).toBeUndefined();
  });
});

describe('Engine: same-key retries (no other key can take the request)', () => {
  it('a one-key pool whose key fails twice with a 5xx answers on the third try, on the same key', async () => {
    const { engine, leaser } = setup([{ refuse: http(500) }, { refuse: http(502) }, { reads: answer('ok') }], { keys: ['only'], sameKey: true });
    const handle = await engine.startCompletion(request(), new AbortController().signal);
    expect(texts(await drain(handle))).toBe('ok');
    expect(handle.attempts).toBe(3);
    // the failures still count against the key: each lease is released with its own outcome
    expect(leaser.outcomes()).toEqual(['k:only:500', 'k:only:502', 'k:only:ok']);
  });

  it('a stream cut before its first answer event is retried; a cut after it is not', async () => {
    const cut = new UpstreamFailure('cut', { kind: 'network', phase: 'stream' });
    const before = setup([{ reads: [[{ type: 'keepalive' }], cut] }, { reads: answer('ok') }], { keys: ['only'], sameKey: true });
    expect(texts(await drain(await before.engine.startCompletion(request(), new AbortController().signal)))).toBe('ok');
    const after = setup([{ reads: [[{ type: 'delta', text: 'par' }], cut] }], { keys: ['only'], sameKey: true });
    const handle = await after.engine.startCompletion(request(), new AbortController().signal);
    await expect(drain(handle)).rejects.toMatchObject({ code: 'upstream_stream_interrupted' });
    expect(after.upstream.queries).toHaveLength(1);
  });

  it('without same-key settings a one-key pool fails at the first 5xx (as before)', async () => {
    const { engine } = setup([{ refuse: http(500) }], { keys: ['only'] });
    await expect(engine.startCompletion(request(), new AbortController().signal)).rejects.toMatchObject({ status: 502 });
  });

  it('gives up after MAX_ATTEMPTS with the upstream error', async () => {
    const { engine, upstream } = setup([{ refuse: http(500) }, { refuse: http(500) }, { refuse: http(500) }, { refuse: http(500) }], { keys: ['only'], sameKey: true });
    await expect(engine.startCompletion(request(), new AbortController().signal)).rejects.toMatchObject({ status: 502, code: 'upstream_error' });
    expect(upstream.queries).toHaveLength(3);
  });

  it('the client leaving during the wait ends the request at once', async () => {
    const { engine, upstream } = setup([{ refuse: http(500) }], { keys: ['only'], sameKey: true });
    const abort = new AbortController();
    const pending = engine.startCompletion(request(), abort.signal);
    setTimeout(() => abort.abort(), 1);
    await expect(pending).rejects.toMatchObject({ code: 'client_closed_request' });
    expect(upstream.queries).toHaveLength(1);
  });
});

describe('Engine: continuing an upstream session', () => {
  const history = (): GatewayRequest => {
    const messages: GatewayRequest['messages'] = [
      { role: 'user', content: 'The code word is kiwi.' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'What is the code word?' },
    ];
    return request({ messages });
  };
  const continuation = (req: GatewayRequest, key = 'b') => ({ keyFingerprint: fp(key), sessionId: 'S', seen: new Set(req.messages.slice(0, 2)) });

  it("sends only the unseen messages into the session, on the session's key", async () => {
    const { engine, upstream, leaser, sessions } = setup([]);
    const req = history();
    const handle = await engine.startCompletion(req, new AbortController().signal, { continuation: continuation(req) });
    await drain(handle);
    expect(leaser.preferred).toEqual(['k:b']);
    expect(upstream.queries.map((q) => [q.key, q.sessionId, q.body.query])).toEqual([['b', 'S', 'What is the code word?']]);
    expect(handle).toMatchObject({ keyFingerprint: 'k:b', sessionId: 'S', continuedSession: true });
    expect([upstream.created, sessions?.taken]).toEqual([[], 0]);
  });

  it("replays everything into a fresh session when the session's key cannot serve", async () => {
    const { engine, upstream, leaser } = setup([]);
    leaser.out.add('b');
    const req = history();
    const handle = await engine.startCompletion(req, new AbortController().signal, { continuation: continuation(req) });
    await drain(handle);
    expect(upstream.queries[0]).toMatchObject({ key: 'a', sessionId: 'pooled-1' });
    expect(upstream.queries[0]?.body.query).toContain('<user>\nThe code word is kiwi.\n</user>');
    expect(handle).toMatchObject({ sessionId: 'pooled-1', continuedSession: false });
  });

  it.each([
    ['the session is gone (404)', http(404)],
    ['the upstream refuses the turn (400)', http(400, { errorCode: 'invalid_request' })],
    ['a 5xx', http(502)],
  ])('replays everything when the continued attempt fails: %s', async (_name, failure) => {
    const { engine, upstream, sessions } = setup([{ refuse: failure }]);
    const req = history();
    const handle = await engine.startCompletion(req, new AbortController().signal, { continuation: continuation(req) });
    await drain(handle);
    expect(upstream.queries).toHaveLength(2);
    expect(upstream.queries[0]).toMatchObject({ key: 'b', sessionId: 'S' });
    expect(upstream.queries[1]?.sessionId).not.toBe('S');
    expect(upstream.queries[1]?.body.query).toContain('<user>\nThe code word is kiwi.\n</user>');
    expect(handle.continuedSession).toBe(false);
    // the pooled sessions of the key are not thrown away for a continued session that is gone
    expect(sessions?.discarded).toEqual([]);
  });

  it('replays once: a replay that fails the same way fails the request', async () => {
    const bad = () => http(400, { errorCode: 'invalid_request' });
    const { engine, upstream } = setup([{ refuse: bad() }, { refuse: bad() }]);
    const req = history();
    const err = await rejection(engine.startCompletion(req, new AbortController().signal, { continuation: continuation(req) }));
    expect(err).toMatchObject({ status: 400 });
    expect(upstream.queries).toHaveLength(2);
  });

  it('does not continue when nothing of the request was seen, or everything was', async () => {
    for (const seen of [new Set<GatewayRequest['messages'][number]>(), null]) {
      const { engine, upstream } = setup([]);
      const req = history();
      const handle = await engine.startCompletion(req, new AbortController().signal, {
        continuation: { keyFingerprint: fp('a'), sessionId: 'S', seen: seen ?? new Set(req.messages) },
      });
      await drain(handle);
      expect(upstream.queries[0]?.sessionId).toBe('pooled-1');
    }
  });
});
