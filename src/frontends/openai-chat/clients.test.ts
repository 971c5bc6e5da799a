/**
 * The encoder's output read by the real client libraries (openai-node's `.stream()` helper, the AI SDK),
 * in process: their `fetch` is stubbed to answer with our bytes, so nothing touches the network.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { GatewayEvent, Usage } from '../../core/types.js';
import { createChatChunkEncoder } from './stream.js';

const usage: Usage = { inputTokens: 7, outputTokens: 4, totalTokens: 11, estimated: false };

function wire(events: GatewayEvent[], includeUsage: boolean, failure?: GatewayError): string {
  const encoder = createChatChunkEncoder({ id: 'chatcmpl-sdk', created: 1_700_000_000, model: 'gpt-4o', includeUsage });
  const body = events.map((e) => encoder.encode(e)).join('');
  return body + (failure ? encoder.error(failure) : encoder.done());
}

/** A fetch that answers every call with the given SSE body, split into small pieces like a real socket. */
function stubFetch(body: string): typeof fetch {
  return async () => {
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
}

const openai = (body: string) => new OpenAI({ apiKey: 'test', baseURL: 'http://gateway.test/v1', fetch: stubFetch(body), maxRetries: 0 });
const params = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }], stream_options: { include_usage: true } };

describe('openai-node reads our stream', () => {
  it('.stream() helper: text, reasoning ignored, usage, finish', async () => {
    const body = wire(
      [
        { type: 'reasoning', text: 'hmm' },
        { type: 'text', text: 'Hello ' },
        { type: 'text', text: 'world' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      true,
    );
    const completion = await openai(body).chat.completions.stream(params).finalChatCompletion();
    expect(completion.id).toBe('chatcmpl-sdk');
    expect(completion.choices[0]?.message.content).toBe('Hello world');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
  });

  it('.stream() helper: tool calls', async () => {
    const body = wire(
      [
        { type: 'tool_calls', calls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      false,
    );
    const completion = await openai(body)
      .chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .finalChatCompletion();
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }]);
  });

  it('an error frame mid-stream throws APIError with our fields', async () => {
    const body = wire([{ type: 'text', text: 'half' }], true, new GatewayError('upstream went quiet', { status: 504, type: 'timeout_error', code: 'idle_timeout' }));
    const stream = await openai(body).chat.completions.create({ ...params, stream: true });
    const seen: string[] = [];
    const consume = async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(consume()).rejects.toMatchObject({ message: expect.stringContaining('upstream went quiet'), code: 'idle_timeout', type: 'timeout_error' });
    expect(seen.join('')).toBe('half');
  });
});

describe('the AI SDK reads our stream', () => {
  it('text, reasoning, usage and finish reason', async () => {
    const body = wire(
      [
        { type: 'reasoning', text: 'thinking' },
        { type: 'text', text: 'Hi there' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'length' },
      ],
      true,
    );
    const provider = createOpenAICompatible({ name: 'gateway', baseURL: 'http://gateway.test/v1', fetch: stubFetch(body), includeUsage: true });
    const result = streamText({ model: provider.chatModel('gpt-4o'), prompt: 'hi', maxRetries: 0 });
    expect(await result.text).toBe('Hi there');
    expect(await result.reasoningText).toBe('thinking');
    expect(await result.finishReason).toBe('length');
    const total = await result.totalUsage;
    expect([total.inputTokens, total.outputTokens, total.totalTokens]).toEqual([7, 4, 11]);
  });
});
