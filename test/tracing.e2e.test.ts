/**
 * OpenTelemetry tracing end to end: a gateway whose OTEL_* settings point at a loopback OTLP receiver serves
 * requests that carry a client's `traceparent`; the receiver decodes what the gateway exports (protobuf, and JSON
 * for the second gateway) and the tests check the spans, their parents, the GenAI and HTTP attributes, the trace
 * continued from the client to the upstream (the `traceparent` the simulator received), and that no prompt, answer
 * or key reaches the exporter unless the operator opts in to message content.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, eventually, fingerprintKey, startStack, startTestGateway, UPSTREAM_KEYS, type GatewayUnderTest, type Stack } from './harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const ANSWER_TEXT = 'Hello from the OnDemand simulator';
const FINGERPRINTS = UPSTREAM_KEYS.map((k) => fingerprintKey(k));

let receiver: OtlpReceiver;
let stack: Stack;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startStack({
    env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_SERVICE_NAME: 'gateway-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '20',
    },
  });
});
afterAll(async () => {
  await stack.close();
  await receiver.close();
});

/** A client's trace context: a fresh trace id and the client's own span id, sampled. */
function clientContext(): { traceId: string; parentId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
}

async function chat(url: string, body: Record<string, unknown>, traceparent?: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', ...(traceparent === undefined ? {} : { traceparent }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

/** The request's spans once its SERVER span and `attempts` CLIENT spans have arrived. */
async function traceOf(traceId: string, attempts: number, from: OtlpReceiver = receiver): Promise<{ server: ReceivedSpan; clients: ReceivedSpan[] }> {
  let found: { server: ReceivedSpan; clients: ReceivedSpan[] } | undefined;
  await eventually(() => {
    const spans = from.spans().filter((s) => s.traceId === traceId);
    const server = spans.filter((s) => s.kind === 'SERVER');
    const clients = spans.filter((s) => s.kind === 'CLIENT').sort((a, b) => Number(a.attributes['gateway.attempt.number']) - Number(b.attributes['gateway.attempt.number']));
    expect(server).toHaveLength(1);
    expect(clients).toHaveLength(attempts);
    found = { server: server[0]!, clients };
  });
  return found!;
}

/** The traceparent values the simulator received with its query calls for this trace. */
const upstreamTraceparents = (traceId: string): string[] =>
  stack.sim
    .stats()
    .traceparents.filter((t) => t.call === 'query' && t.traceparent.includes(traceId))
    .map((t) => t.traceparent);

const exportedText = (from: OtlpReceiver): string =>
  from
    .exports()
    .map((e) => e.body.toString('latin1'))
    .join('\n');

describe('OpenTelemetry tracing', () => {
  it('a chat completion: a SERVER span continuing the client trace, a CLIENT span per attempt, the traceparent sent upstream', async () => {
    const ctx = clientContext();
    const prompt = `tracing-prompt-${randomBytes(6).toString('hex')}`;
    const body = JSON.parse(await chat(stack.url, { model: 'gpt-4o', messages: [{ role: 'user', content: prompt }], temperature: 0.5, max_tokens: 400 }, ctx.traceparent)) as {
      choices: Array<{ message: { content: string } }>;
    };
    expect(body.choices[0]!.message.content).toContain(ANSWER_TEXT);

    const { server, clients } = await traceOf(ctx.traceId, 1);
    // the client's trace goes on: same trace id, the client's span as the parent
    expect(server.parentSpanId).toBe(ctx.parentId);
    expect(server.name).toBe('chat gpt-4o');
    expect(server.resource['service.name']).toBe('gateway-under-test');
    expect(server.status.code).toBe(0);
    expect(server.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'ondemand',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.max_tokens': 400,
      'gen_ai.response.finish_reasons': ['stop'],
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'url.path': '/v1/chat/completions',
      'http.response.status_code': 200,
      'ondemand.endpoint_id': 'predefined-openai-gpt4o',
      'gateway.attempts': 1,
      'gateway.outcome': 'ok',
      'gateway.stream': false,
    });
    expect(server.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(server.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);

    const [attempt] = clients;
    expect(attempt!.parentSpanId).toBe(server.spanId);
    expect(attempt!.name).toBe('chat predefined-openai-gpt4o');
    expect(attempt!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'ondemand',
      'gen_ai.request.model': 'predefined-openai-gpt4o',
      'gateway.model': 'gpt-4o',
      'gateway.attempt.number': 1,
      'gateway.attempt.outcome': 'ok',
      'server.address': '127.0.0.1',
    });
    expect(FINGERPRINTS).toContain(attempt!.attributes['gateway.key.fingerprint']);

    // OnDemand got the attempt span as the parent of whatever it does with the query
    expect(upstreamTraceparents(ctx.traceId)).toEqual([`00-${ctx.traceId}-${attempt!.spanId}-01`]);

    // no prompt, no answer, no key in anything exported (message content is opt-in)
    const exported = exportedText(receiver);
    expect(exported).not.toContain(prompt);
    expect(exported).not.toContain(ANSWER_TEXT);
    for (const key of [...UPSTREAM_KEYS, CLIENT_KEY]) expect(exported).not.toContain(key);
    expect(server.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(server.attributes['gen_ai.output.messages']).toBeUndefined();
  });

  it('a streamed completion: usage and finish reason on the span once the stream ended', async () => {
    const ctx = clientContext();
    const text = await chat(
      stack.url,
      { model: 'claude-sonnet-4-6', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Stream something' }] },
      ctx.traceparent,
    );
    expect(text).toContain('data: [DONE]');

    const { server, clients } = await traceOf(ctx.traceId, 1);
    expect(server.parentSpanId).toBe(ctx.parentId);
    expect(server.name).toBe('chat claude-sonnet-4-6');
    expect(server.attributes).toMatchObject({
      'gen_ai.request.model': 'claude-sonnet-4-6',
      'gen_ai.response.model': 'claude-sonnet-4-6',
      'gen_ai.response.finish_reasons': ['stop'],
      'gateway.stream': true,
      'gateway.outcome': 'ok',
      'http.response.status_code': 200,
    });
    expect(server.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(clients[0]!.parentSpanId).toBe(server.spanId);
    expect(clients[0]!.attributes['gateway.attempt.outcome']).toBe('ok');
    expect(upstreamTraceparents(ctx.traceId)).toEqual([`00-${ctx.traceId}-${clients[0]!.spanId}-01`]);
  });

  it('the first key fails: two attempt spans, the failed one with its class and status, each attempt its own traceparent upstream', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 503, on: 'query', times: 1 });
    const ctx = clientContext();
    await chat(stack.url, { model: 'gpt-4o', messages: [{ role: 'user', content: 'Fail over, please' }] }, ctx.traceparent);

    const { server, clients } = await traceOf(ctx.traceId, 2);
    expect(server.attributes).toMatchObject({ 'gateway.attempts': 2, 'gateway.outcome': 'ok', 'http.response.status_code': 200 });
    const [failed, served] = clients as [ReceivedSpan, ReceivedSpan];
    for (const attempt of clients) expect(attempt.parentSpanId).toBe(server.spanId);
    expect(failed.attributes).toMatchObject({
      'gateway.attempt.number': 1,
      'gateway.attempt.outcome': 'failed',
      'gateway.failure.class': 'transient',
      'gateway.failure.phase': 'query',
      'http.response.status_code': 503,
      'error.type': '503',
    });
    expect(failed.status.code).toBe(2);
    expect(served.attributes).toMatchObject({ 'gateway.attempt.number': 2, 'gateway.attempt.outcome': 'ok' });
    expect(served.status.code).toBe(0);
    // another key: the failover left the first one
    expect(served.attributes['gateway.key.fingerprint']).not.toBe(failed.attributes['gateway.key.fingerprint']);
    expect(upstreamTraceparents(ctx.traceId)).toEqual([`00-${ctx.traceId}-${failed.spanId}-01`, `00-${ctx.traceId}-${served.spanId}-01`]);
  });

  it('a media upload goes up with the attempt that uploads it, in the same trace', async () => {
    const ctx = clientContext();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } };
    await chat(stack.url, { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] }] }, ctx.traceparent);

    const { clients } = await traceOf(ctx.traceId, 1);
    const expected = `00-${ctx.traceId}-${clients[0]!.spanId}-01`;
    const calls = stack.sim.stats().traceparents.filter((t) => t.traceparent === expected);
    expect(calls.map((t) => t.call)).toEqual(['media', 'query']);
  });

  it('the client hangs up mid-stream: both spans end, as closed by the client and not as errors', async () => {
    stack.sim.setOptions({ deltas: 40, deltaIntervalMs: 50 });
    try {
      const ctx = clientContext();
      const abort = new AbortController();
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', traceparent: ctx.traceparent },
        body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'A long story, please' }] }),
        signal: abort.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      abort.abort();
      await reader.read().catch(() => undefined);

      const { server, clients } = await traceOf(ctx.traceId, 1);
      expect(server.attributes['gateway.outcome']).toMatch(/^(aborted|client_closed)$/);
      expect(server.status.code).toBe(0);
      expect(clients[0]!.attributes['gateway.attempt.outcome']).toBe('client_closed');
      expect(clients[0]!.status.code).toBe(0);
    } finally {
      stack.sim.reset();
    }
  });

  it('a request without traceparent starts a trace; health checks and metrics are not traced', async () => {
    const before = new Set(receiver.spans().map((s) => s.traceId));
    await chat(stack.url, { model: 'gpt-4o', messages: [{ role: 'user', content: 'No context' }] });
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).status).toBe(200);
    await eventually(() => {
      const fresh = receiver.spans().filter((s) => !before.has(s.traceId) && s.kind === 'SERVER');
      expect(fresh).toHaveLength(1);
      expect(fresh[0]!.parentSpanId).toBe('');
    });
    expect(receiver.spans().filter((s) => ['/healthz', '/metrics'].includes(String(s.attributes['http.route'])))).toEqual([]);
  });
});

describe('OpenTelemetry tracing with message content captured (opt-in), exported as OTLP/JSON', () => {
  let jsonReceiver: OtlpReceiver;
  let gateway: GatewayUnderTest;
  beforeAll(async () => {
    jsonReceiver = await startOtlpReceiver();
    gateway = await startTestGateway(stack.sim.url, {
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: jsonReceiver.tracesUrl.replace(/\/v1\/traces$/, ''),
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await jsonReceiver.close();
  });

  it('the prompt and the answer are on the request span, as the GenAI conventions shape them', async () => {
    const ctx = clientContext();
    const prompt = `captured-prompt-${randomBytes(6).toString('hex')}`;
    await chat(
      gateway.url,
      {
        model: 'gpt-4o',
        stream: true,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: prompt },
        ],
      },
      ctx.traceparent,
    );

    const { server } = await traceOf(ctx.traceId, 1, jsonReceiver);
    expect(jsonReceiver.exports()[0]!.contentType).toMatch(/^application\/json/);
    expect(server.resource['service.name']).toBe('ondemand-gateway');
    expect(JSON.parse(String(server.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Be brief.' }] },
      { role: 'user', parts: [{ type: 'text', content: prompt }] },
    ]);
    const output = JSON.parse(String(server.attributes['gen_ai.output.messages'])) as Array<{
      role: string;
      parts: Array<{ type: string; content: string }>;
      finish_reason: string;
    }>;
    expect(output).toHaveLength(1);
    expect(output[0]).toMatchObject({ role: 'assistant', finish_reason: 'stop' });
    expect(output[0]!.parts[0]!.content).toContain(`${ANSWER_TEXT} (predefined-openai-gpt4o). You said: ${prompt}`);
    for (const key of [...UPSTREAM_KEYS, CLIENT_KEY]) expect(exportedText(jsonReceiver)).not.toContain(key);
  });
});
