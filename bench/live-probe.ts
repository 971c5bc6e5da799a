/**
 * The live probe (`npm run probe:live`): a handful of small queries to the real OnDemand with one key, to settle
 * what the gateway takes on trust. Over a few turns it measures the input tokens OnDemand reports when the
 * conversation is replayed into a fresh session each turn (what the gateway does by default) against continuing
 * one session with only the new turn (SESSION_CONTINUATION), and whether the model recalls the first turn at the
 * last; it also re-checks `modelConfigs.maxTokens` and the catalogue fields the gateway reads, and asks one long
 * request in sync mode beside the same request streamed: what a plain request would lose or keep if the gateway asked
 * OnDemand for sync answers (usage, completion status, reasoning, time to the whole answer). The queries go
 * through the gateway's own client and transcript format, so the replay arm is exactly what the gateway sends.
 * The result is a Markdown table an operator can paste into an issue.
 */
import { request } from 'undici';
import { countTokens } from '../src/core/tokens.js';
import { OnDemandClient } from '../src/upstream/client.js';
import { CATALOGUE_PATH } from '../src/upstream/catalogue.js';
import { fingerprintKey } from '../src/ondemand/key-fingerprint.js';
import { buildQuery, type OnDemandQueryBody, type QueryMessage } from '../src/ondemand/query.js';

export interface ProbeOptions {
  key: string;
  baseUrl: string;
  endpointId: string;
  /** turns per arm, 2 to 8: the first gives a code word, the last asks for it */
  turns: number;
  userAgent: string;
  /** the code word (random by default) */
  codeWord?: string;
  /** progress lines (stderr by default) */
  log?: (line: string) => void;
}

/** One query's outcome as OnDemand reported it. */
export interface QueryResult {
  /** tokens of the query text, counted locally (o200k) */
  sentTokens: number;
  /** metricsLog's inputTokens; undefined when the stream had none */
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  answer: string;
  /** characters of reasoning (fulfillment_thinking) the stream carried */
  thinkingChars: number;
  error?: string;
}

/** One request asked in sync mode, and the same request streamed. */
export interface SyncCheck {
  sync: {
    httpStatus: number;
    /** data.status: completed, processing or failed */
    status: string | undefined;
    /** data.metrics, when the sync answer carries token counts */
    inputTokens: number | undefined;
    outputTokens: number | undefined;
    answerTokens: number;
    /** from sending to the end of the answer's body */
    seconds: number;
    error?: string;
  };
  stream: QueryResult & { answerTokens: number; seconds: number };
}

export interface ProbeReport {
  at: string;
  baseUrl: string;
  endpointId: string;
  keyFingerprint: string;
  codeWord: string;
  replay: QueryResult[];
  continuation: QueryResult[];
  /** the last question alone, in a fresh session: the platform's own overhead, and recall without any context */
  baseline: QueryResult;
  maxTokens: { limit: number; result: QueryResult; answerTokens: number };
  sync: SyncCheck;
  catalogue: CatalogueCheck | { error: string };
  queries: number;
  sessions: number;
}

export interface CatalogueCheck {
  endpoints: number;
  active: number;
  /** field → entries that carry it */
  fields: Record<string, number>;
}

/** The catalogue fields the gateway reads (src/upstream/catalogue.ts), then the documented ones it does not use yet. */
export const CATALOGUE_FIELDS = [
  'endpoint_id',
  'endpoint_name',
  'model_id',
  'status',
  'streaming_supported',
  'reasoning_efforts',
  'context_length',
  'is_premium',
  'fallback_endpoint_id',
];
const READ_FIELDS = 6;

export const MAX_TOKENS_PROBE = 16;
const LONG_REQUEST = 'Write a 200-word story about a lighthouse keeper.';

/** The turns of one arm: a code word first, small questions between, the question for the code word last. */
export function probeTurns(turns: number, codeWord: string): string[] {
  const fillers = ['What is 2 + 3? Reply with the number only.', 'Name one primary colour. Reply with one word.', 'What is the capital of France? One word.'];
  const out = [`Remember this: the code word is ${codeWord}. Reply with just: OK.`];
  for (let i = 0; i < turns - 2; i++) out.push(fillers[i % fillers.length] as string);
  out.push('What is the code word? Reply with the word only.');
  return out;
}

/** How many upstream calls a run makes: the operator is told before anything is sent. */
export function plannedCalls(turns: number): { queries: number; sessions: number; reads: number } {
  return { queries: 2 * turns + 4, sessions: turns + 5, reads: 1 };
}

const recalls = (r: QueryResult | undefined, word: string): boolean => r?.answer.toLowerCase().includes(word.toLowerCase()) ?? false;

export async function runProbe(opts: ProbeOptions): Promise<ProbeReport> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const word = opts.codeWord ?? `${['amber', 'violet', 'cobalt', 'saffron'][Math.floor(Math.random() * 4)]}-${1000 + Math.floor(Math.random() * 9000)}`;
  const client = new OnDemandClient({ baseUrl: opts.baseUrl, userAgent: opts.userAgent, connectTimeoutMs: 10_000, firstByteTimeoutMs: 120_000, idleTimeoutMs: 120_000 });
  let queries = 0;
  let sessions = 0;
  const session = async (): Promise<string> => {
    sessions++;
    return client.createSession(opts.key);
  };
  const ask = async (sessionId: string, body: OnDemandQueryBody): Promise<QueryResult> => {
    queries++;
    return readQuery(client, opts.key, sessionId, body);
  };
  const turns = probeTurns(opts.turns, word);
  try {
    log(`catalogue: GET ${CATALOGUE_PATH}`);
    const catalogue = await checkCatalogue(client, opts.key);

    log(`continuation: ${turns.length} turns in one session, each query only the new turn`);
    const continued = await session();
    const continuation: QueryResult[] = [];
    for (const text of turns) continuation.push(await ask(continued, buildQuery({ messages: [{ role: 'user', content: text }], params: {} }, opts.endpointId)));

    log(`replay: ${turns.length} turns, each in a fresh session with the whole conversation (the gateway's transcript)`);
    const replay: QueryResult[] = [];
    const history: QueryMessage[] = [];
    for (const text of turns) {
      history.push({ role: 'user', content: text });
      const result = await ask(await session(), buildQuery({ messages: history, params: {} }, opts.endpointId));
      replay.push(result);
      history.push({ role: 'assistant', content: result.answer });
    }

    log('baseline: the last question alone in a fresh session');
    const baseline = await ask(await session(), buildQuery({ messages: [{ role: 'user', content: turns[turns.length - 1] as string }], params: {} }, opts.endpointId));

    log(`maxTokens: modelConfigs.maxTokens=${MAX_TOKENS_PROBE} on a request for a long answer`);
    const maxBody = buildQuery({ messages: [{ role: 'user', content: LONG_REQUEST }], params: { maxTokens: MAX_TOKENS_PROBE } }, opts.endpointId);
    const maxResult = await ask(await session(), maxBody);

    log('sync: the same long request in responseMode sync, then streamed');
    const longBody = buildQuery({ messages: [{ role: 'user', content: LONG_REQUEST }], params: {} }, opts.endpointId);
    queries++;
    const sync = await askSync(opts, await session(), longBody);
    // timed from the query, as the sync one is: the session is made first
    const streamSession = await session();
    const streamStarted = performance.now();
    const streamed = await ask(streamSession, longBody);
    const streamSeconds = (performance.now() - streamStarted) / 1000;

    return {
      at: new Date().toISOString(),
      baseUrl: opts.baseUrl,
      endpointId: opts.endpointId,
      keyFingerprint: fingerprintKey(opts.key),
      codeWord: word,
      replay,
      continuation,
      baseline,
      maxTokens: { limit: MAX_TOKENS_PROBE, result: maxResult, answerTokens: countTokens(maxResult.answer) },
      sync: { sync, stream: { ...streamed, answerTokens: countTokens(streamed.answer), seconds: streamSeconds } },
      catalogue,
      queries,
      sessions,
    };
  } finally {
    await client.close();
  }
}

async function readQuery(client: OnDemandClient, key: string, sessionId: string, body: OnDemandQueryBody): Promise<QueryResult> {
  const result: QueryResult = { sentTokens: countTokens(body.query), inputTokens: undefined, outputTokens: undefined, answer: '', thinkingChars: 0 };
  let stream: Awaited<ReturnType<OnDemandClient['openQuery']>> | undefined;
  try {
    stream = await client.openQuery(key, sessionId, body);
    for (;;) {
      const batch = await stream.next();
      if (batch.length === 0) break;
      for (const ev of batch) {
        if (ev.type === 'delta') result.answer += ev.text;
        else if (ev.type === 'thinking') result.thinkingChars += ev.text.length;
        else if (ev.type === 'metrics') {
          result.inputTokens = ev.inputTokens;
          result.outputTokens = ev.outputTokens;
        } else if (ev.type === 'error') result.error = `${ev.errorCode ?? 'error'}: ${ev.message}`;
      }
      if (batch.some((ev) => ev.type === 'done' || ev.type === 'error')) break;
    }
    stream.finish();
  } catch (err) {
    stream?.destroy();
    result.error = err instanceof Error ? err.message : String(err);
  }
  return result;
}

/** The query in responseMode sync (the gateway's client only streams): the documented JSON answer, read whole. */
async function askSync(opts: ProbeOptions, sessionId: string, body: OnDemandQueryBody): Promise<SyncCheck['sync']> {
  const out: SyncCheck['sync'] = { httpStatus: 0, status: undefined, inputTokens: undefined, outputTokens: undefined, answerTokens: 0, seconds: 0 };
  const started = performance.now();
  try {
    const res = await request(`${opts.baseUrl}/chat/v1/sessions/${encodeURIComponent(sessionId)}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', apikey: opts.key, 'user-agent': opts.userAgent },
      body: JSON.stringify({ ...body, responseMode: 'sync' }),
      // a sync answer's first byte comes when the whole answer exists
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
    out.httpStatus = res.statusCode;
    const text = await res.body.text();
    out.seconds = (performance.now() - started) / 1000;
    const data = (JSON.parse(text) as { data?: { answer?: unknown; status?: unknown; metrics?: { inputTokens?: unknown; outputTokens?: unknown } } }).data;
    if (typeof data?.status === 'string') out.status = data.status;
    if (typeof data?.answer === 'string') out.answerTokens = countTokens(data.answer);
    if (typeof data?.metrics?.inputTokens === 'number') out.inputTokens = data.metrics.inputTokens;
    if (typeof data?.metrics?.outputTokens === 'number') out.outputTokens = data.metrics.outputTokens;
    if (res.statusCode !== 200) out.error = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
  } catch (err) {
    out.seconds = (performance.now() - started) / 1000;
    out.error = err instanceof Error ? err.message : String(err);
  }
  return out;
}

async function checkCatalogue(client: OnDemandClient, key: string): Promise<CatalogueCheck | { error: string }> {
  try {
    const json = (await client.getJson(CATALOGUE_PATH, key)) as { endpointsData?: unknown; data?: unknown } | null;
    const list = json?.endpointsData ?? json?.data;
    if (!Array.isArray(list)) return { error: 'the answer has no endpointsData list' };
    const entries = list.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null);
    const fields: Record<string, number> = {};
    for (const f of CATALOGUE_FIELDS) fields[f] = entries.filter((e) => f in e).length;
    const active = entries.filter((e) => typeof e['status'] !== 'string' || e['status'].toLowerCase() === 'active').length;
    return { endpoints: entries.length, active, fields };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

// ── the report ───────────────────────────────────────────────────────────────────────────────────────────

const n = (v: number | undefined): string => (v === undefined ? 'n/a' : String(v));
const diff = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? 'n/a' : `${b - a >= 0 ? '+' : ''}${b - a}`);
const sum = (rs: QueryResult[]): number | undefined => (rs.some((r) => r.inputTokens === undefined) ? undefined : rs.reduce((t, r) => t + (r.inputTokens ?? 0), 0));

/** The report as Markdown: a table per turn, then one line per re-checked fact. */
export function formatReport(r: ProbeReport): string {
  const lines: string[] = [];
  lines.push(`### OnDemand live probe, ${r.at}`);
  lines.push('');
  lines.push(`\`${r.endpointId}\` at ${r.baseUrl}, key ${r.keyFingerprint}; ${r.queries} queries in ${r.sessions} sessions; code word \`${r.codeWord}\``);
  lines.push('');
  lines.push('| turn | query tokens sent (replay / continuation, counted locally) | replay: input tokens reported | continuation: input tokens reported | continuation − replay |');
  lines.push('|---|---|---|---|---|');
  r.replay.forEach((rep, i) => {
    const con = r.continuation[i];
    lines.push(`| ${i + 1} | ${rep.sentTokens} / ${n(con?.sentTokens)} | ${n(rep.inputTokens)} | ${n(con?.inputTokens)} | ${diff(rep.inputTokens, con?.inputTokens)} |`);
  });
  lines.push(`| all turns | | ${n(sum(r.replay))} | ${n(sum(r.continuation))} | ${diff(sum(r.replay), sum(r.continuation))} |`);
  const last = r.replay.length - 1;
  lines.push(`| recalls turn 1 at turn ${last + 1} | | ${recalls(r.replay[last], r.codeWord) ? 'yes' : 'no'} | ${recalls(r.continuation[last], r.codeWord) ? 'yes' : 'no'} | |`);
  lines.push('');
  const b = r.baseline;
  const overhead = b.inputTokens === undefined ? 'n/a' : `${b.inputTokens - b.sentTokens >= 0 ? '+' : ''}${b.inputTokens - b.sentTokens}`;
  lines.push(
    `- Platform overhead: the last question alone (${b.sentTokens} tokens counted locally) reported ${n(b.inputTokens)} input tokens (${overhead}); without context it ${recalls(b, r.codeWord) ? 'still named' : 'did not name'} the code word.`,
  );
  const m = r.maxTokens;
  const verdict = m.result.error !== undefined ? `failed (${m.result.error})` : m.result.answer === '' ? 'an empty answer' : m.answerTokens <= m.limit + 2 ? 'honoured' : 'ignored';
  lines.push(
    `- \`modelConfigs.maxTokens: ${m.limit}\` on a 200-word request: ${verdict}; ${m.answerTokens} answer tokens counted locally, ${n(m.result.outputTokens)} output tokens reported.`,
  );
  const sy = r.sync.sync;
  const st = r.sync.stream;
  const syncAnswer =
    sy.error !== undefined
      ? `failed (${sy.error})`
      : `status \`${sy.status ?? 'absent'}\`, ${sy.answerTokens} answer tokens in ${sy.seconds.toFixed(1)} s, usage ${sy.inputTokens === undefined ? 'absent' : `${sy.inputTokens} in / ${n(sy.outputTokens)} out`}`;
  const streamAnswer =
    st.error !== undefined
      ? `failed (${st.error})`
      : `${st.answerTokens} answer tokens in ${st.seconds.toFixed(1)} s to the end, usage ${n(st.inputTokens)} in / ${n(st.outputTokens)} out, ${st.thinkingChars} characters of reasoning`;
  lines.push(`- Sync mode on the 200-word request: ${syncAnswer}. The same request streamed: ${streamAnswer}.`);
  if ('error' in r.catalogue) lines.push(`- Catalogue: could not be read (${r.catalogue.error}).`);
  else {
    const c = r.catalogue;
    const fields = CATALOGUE_FIELDS.map((f, i) => `\`${f}\` ${c.fields[f] ?? 0}/${c.endpoints}${i === READ_FIELDS - 1 ? ' (the gateway reads the fields up to here)' : ''}`).join(
      ', ',
    );
    lines.push(`- Catalogue: ${c.endpoints} endpoints, ${c.active} active; ${fields}.`);
  }
  const errors = [...r.replay, ...r.continuation, r.baseline].filter((q) => q.error !== undefined);
  if (errors.length > 0) lines.push(`- Failed queries: ${errors.length} (${errors.map((q) => q.error).join('; ')}).`);
  return lines.join('\n');
}
