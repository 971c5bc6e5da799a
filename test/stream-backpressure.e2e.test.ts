/**
 * A client that stops reading a streamed answer holds the upstream back instead of making the gateway buffer the
 * answer: a loopback upstream streams far more than the sockets between it and the client can hold, writing only as
 * fast as its own socket drains; while the client reads nothing, the upstream must stop well short of the end. Once
 * the client reads again, every delta arrives, in order, then [DONE].
 */
import { once } from 'node:events';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startLoopbackUpstream, startTestGateway, type GatewayUnderTest, type LoopbackUpstream } from './harness.js';

/** 24,000 deltas of 4 KiB: 96 MiB, more than twice what the kernel's socket buffers on both hops can take */
const DELTAS = 24_000;
const delta = (i: number): string => `${String(i).padStart(6, '0')}:${'x'.repeat(4089)}`;

let written = 0;

async function serveQuery(res: ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  for (let i = 0; i < DELTAS; i++) {
    if (res.destroyed) return;
    const full = !res.write(`event:message\ndata:${JSON.stringify({ eventType: 'fulfillment', answer: delta(i) })}\n\n`);
    written = i + 1;
    if (full) await once(res, 'drain');
  }
  res.end(`data:${JSON.stringify({ eventType: 'metricsLog', publicMetrics: { inputTokens: 1, outputTokens: DELTAS, totalTokens: DELTAS + 1 } })}\n\ndata:[DONE]\n\n`);
}

let upstream: LoopbackUpstream;
let gw: GatewayUnderTest;

beforeAll(async () => {
  upstream = await startLoopbackUpstream((res) => void serveQuery(res));
  gw = await startTestGateway(upstream.url, { keys: ['od-backpressure-key-01'] });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('a client that stops reading a stream', () => {
  it('holds the upstream back, and gets the whole answer in order once it reads again', async () => {
    const body = JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'a long answer, please' }] });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(body);
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    // long enough for an unheld gateway to have read the whole answer from its upstream
    let before = -1;
    for (let i = 0; i < 40 && written !== before; i++) {
      before = written;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(DELTAS / 2);

    res.setEncoding('utf8');
    let text = '';
    let next = 0;
    let done = false;
    const problems: string[] = [];
    res.on('data', (piece: string) => {
      text += piece;
      let cut = text.indexOf('\n\n');
      while (cut !== -1) {
        const frame = text.slice(0, cut);
        text = text.slice(cut + 2);
        cut = text.indexOf('\n\n');
        if (!frame.startsWith('data: ')) continue;
        const data = frame.slice('data: '.length);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const content = (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content;
        if (content === undefined || content === '') continue;
        if (content !== delta(next) && problems.length < 3) problems.push(`delta ${next}: ${content.slice(0, 12)}…`);
        next++;
      }
    });
    res.resume();
    await once(res, 'end');
    expect(problems).toEqual([]);
    expect(next).toBe(DELTAS);
    expect(done).toBe(true);
    expect(written).toBe(DELTAS);
  }, 60_000);
});
