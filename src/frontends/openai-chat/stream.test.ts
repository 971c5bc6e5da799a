import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { FinishReason, GatewayEvent, Usage } from '../../core/types.js';
import { createChatChunkEncoder, type ChatChunkEncoderInit } from './stream.js';

const usage: Usage = { inputTokens: 12, outputTokens: 3, totalTokens: 15, estimated: true };
const init: ChatChunkEncoderInit = { id: 'chatcmpl-xyz', created: 1_700_000_000, model: 'gpt-4o', includeUsage: false };

/** A tiny SSE reader: frames end with a blank line; returns each frame's joined data lines. */
function sseDataOf(wire: string): string[] {
  expect(wire.endsWith('\n\n') || wire === '').toBe(true);
  return wire
    .split('\n\n')
    .slice(0, -1)
    .map((frame) => {
      const lines = frame.split('\n');
      for (const line of lines) expect(line.startsWith('data: ') || line.startsWith(':')).toBe(true);
      return lines
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
    });
}

/** Every data payload is JSON or [DONE]; returns them parsed. */
function parseWire(wire: string): unknown[] {
  return sseDataOf(wire).map((data) => (data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as unknown)));
}

function run(events: GatewayEvent[], options: Partial<ChatChunkEncoderInit> = {}): string {
  const encoder = createChatChunkEncoder({ ...init, ...options });
  return events.map((event) => encoder.encode(event)).join('') + encoder.done();
}

const chunk = (delta: Record<string, unknown>, finish_reason: FinishReason | null = null, includeUsage = false) => ({
  id: 'chatcmpl-xyz',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o',
  system_fingerprint: null,
  choices: [{ index: 0, delta, logprobs: null, finish_reason }],
  ...(includeUsage ? { usage: null } : {}),
});
const ROLE = { role: 'assistant', content: '', refusal: null };
const USAGE_CHUNK = {
  id: 'chatcmpl-xyz',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'gpt-4o',
  system_fingerprint: null,
  choices: [],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
};

describe('chat chunk encoder: event sequences → chunks', () => {
  it.each<[string, GatewayEvent[], boolean, unknown[]]>([
    [
      'text',
      [
        { type: 'text', text: 'Hel' },
        { type: 'text', text: 'lo "you"\n' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      false,
      [chunk(ROLE), chunk({ content: 'Hel' }), chunk({ content: 'lo "you"\n' }), chunk({}, 'stop'), '[DONE]'],
    ],
    [
      'text with usage asked for',
      [
        { type: 'text', text: 'Hi' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      true,
      [chunk(ROLE, null, true), chunk({ content: 'Hi' }, null, true), chunk({}, 'stop', true), USAGE_CHUNK, '[DONE]'],
    ],
    [
      'usage after end still lands in the usage chunk',
      [
        { type: 'text', text: 'Hi' },
        { type: 'end', finishReason: 'length' },
        { type: 'usage', usage },
      ],
      true,
      [chunk(ROLE, null, true), chunk({ content: 'Hi' }, null, true), chunk({}, 'length', true), USAGE_CHUNK, '[DONE]'],
    ],
    ['usage asked for but never known: no usage chunk', [{ type: 'end', finishReason: 'stop' }], true, [chunk(ROLE, null, true), chunk({}, 'stop', true), '[DONE]']],
    [
      'reasoning then text',
      [
        { type: 'reasoning', text: 'Let me think.' },
        { type: 'text', text: 'Yes.' },
        { type: 'end', finishReason: 'stop' },
      ],
      false,
      [chunk(ROLE), chunk({ reasoning_content: 'Let me think.' }), chunk({ content: 'Yes.' }), chunk({}, 'stop'), '[DONE]'],
    ],
    [
      'tool calls, indexes counted across events',
      [
        {
          type: 'tool_calls',
          calls: [
            { id: 'call_a', name: 'f', arguments: '{"x":1}' },
            { id: 'call_b', name: 'g', arguments: '{}' },
          ],
        },
        { type: 'tool_calls', calls: [{ id: 'call_c', name: 'h', arguments: '' }] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      false,
      [
        chunk(ROLE),
        chunk({
          tool_calls: [
            { index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
            { index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 2, id: 'call_c', type: 'function', function: { name: 'h', arguments: '' } }] }),
        chunk({}, 'tool_calls'),
        '[DONE]',
      ],
    ],
    ['an empty answer still has a role and a finish', [{ type: 'end', finishReason: 'stop' }], false, [chunk(ROLE), chunk({}, 'stop'), '[DONE]']],
    [
      'empty deltas add nothing',
      [
        { type: 'text', text: '' },
        { type: 'reasoning', text: '' },
        { type: 'tool_calls', calls: [] },
        { type: 'text', text: 'x' },
        { type: 'text', text: '' },
        { type: 'end', finishReason: 'stop' },
      ],
      false,
      [chunk(ROLE), chunk({ content: 'x' }), chunk({}, 'stop'), '[DONE]'],
    ],
    [
      'nothing after the finish chunk, one finish only',
      [
        { type: 'text', text: 'a' },
        { type: 'end', finishReason: 'content_filter' },
        { type: 'text', text: 'b' },
        { type: 'reasoning', text: 'c' },
        { type: 'tool_calls', calls: [{ id: 'x', name: 'y', arguments: '' }] },
        { type: 'end', finishReason: 'stop' },
      ],
      false,
      [chunk(ROLE), chunk({ content: 'a' }), chunk({}, 'content_filter'), '[DONE]'],
    ],
    [
      'unicode and escapes survive',
      [
        { type: 'text', text: 'é 漢字 🎉 \u2028 \\ </script>\r\n\t' },
        { type: 'end', finishReason: 'stop' },
      ],
      false,
      [chunk(ROLE), chunk({ content: 'é 漢字 🎉 \u2028 \\ </script>\r\n\t' }), chunk({}, 'stop'), '[DONE]'],
    ],
  ])('%s', (_name, events, includeUsage, expected) => {
    expect(parseWire(run(events, { includeUsage }))).toStrictEqual(expected);
  });

  it('writes the exact bytes OpenAI writes', () => {
    const encoder = createChatChunkEncoder({ ...init, includeUsage: true });
    expect(encoder.encode({ type: 'text', text: 'Hi' })).toBe(
      'data: {"id":"chatcmpl-xyz","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":null,' +
        '"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n' +
        'data: {"id":"chatcmpl-xyz","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":null,' +
        '"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n',
    );
  });

  it('escapes an id or model that needs it', () => {
    const wire = run(
      [
        { type: 'text', text: 'x' },
        { type: 'end', finishReason: 'stop' },
      ],
      { id: 'a"b', model: 'm\\"\n' },
    );
    for (const data of parseWire(wire).slice(0, -1)) expect(data).toMatchObject({ id: 'a"b', model: 'm\\"\n' });
  });

  it('holds the role chunk until there is something to say', () => {
    const encoder = createChatChunkEncoder(init);
    expect(encoder.encode({ type: 'usage', usage })).toBe('');
    expect(encoder.encode({ type: 'text', text: '' })).toBe('');
    expect(parseWire(encoder.encode({ type: 'reasoning', text: 'r' }))).toStrictEqual([chunk(ROLE), chunk({ reasoning_content: 'r' })]);
  });
});

describe('chat chunk encoder: ending', () => {
  it('[DONE] exactly once', () => {
    const encoder = createChatChunkEncoder(init);
    encoder.encode({ type: 'end', finishReason: 'stop' });
    expect(encoder.done()).toBe('data: [DONE]\n\n');
    expect(encoder.done()).toBe('');
    expect(encoder.encode({ type: 'text', text: 'late' })).toBe('');
    expect(encoder.error(new GatewayError('late', { status: 502, type: 'api_error' }))).toBe('');
  });

  it('refuses to end cleanly without a finish_reason', () => {
    const encoder = createChatChunkEncoder(init);
    encoder.encode({ type: 'text', text: 'half an ans' });
    expect(() => encoder.done()).toThrow(/error\(\)/);
  });

  it('an error mid-stream: one error frame, no [DONE], nothing after', () => {
    const encoder = createChatChunkEncoder({ ...init, includeUsage: true });
    encoder.encode({ type: 'text', text: 'half' });
    encoder.encode({ type: 'usage', usage });
    const err = new GatewayError('OnDemand stopped answering', { status: 504, type: 'timeout_error', code: 'idle_timeout' });
    const wire = encoder.error(err);
    expect(wire).toBe('data: {"error":{"message":"OnDemand stopped answering","type":"timeout_error","param":null,"code":"idle_timeout"}}\n\n');
    expect(parseWire(wire)).toStrictEqual([{ error: { message: 'OnDemand stopped answering', type: 'timeout_error', param: null, code: 'idle_timeout' } }]);
    expect(encoder.error(err)).toBe('');
    expect(encoder.encode({ type: 'end', finishReason: 'stop' })).toBe('');
    expect(encoder.done()).toBe('');
  });

  it('an error before any chunk is just the error frame', () => {
    const encoder = createChatChunkEncoder(init);
    const wire = encoder.error(new GatewayError('no keys', { status: 503, type: 'api_error', code: 'pool_exhausted' }));
    expect(parseWire(wire)).toStrictEqual([{ error: { message: 'no keys', type: 'api_error', param: null, code: 'pool_exhausted' } }]);
  });
});

describe('chat chunk encoder: invariants over any event sequence', () => {
  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const call = fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), name: fc.string({ minLength: 1, maxLength: 6 }), arguments: text });
  const event: fc.Arbitrary<GatewayEvent> = fc.oneof(
    fc.record({ type: fc.constant('text' as const), text }),
    fc.record({ type: fc.constant('reasoning' as const), text }),
    fc.record({ type: fc.constant('tool_calls' as const), calls: fc.array(call, { maxLength: 3 }) }),
    fc.constant<GatewayEvent>({ type: 'usage', usage }),
    fc.record({ type: fc.constant('end' as const), finishReason: fc.constantFrom<FinishReason>('stop', 'length', 'tool_calls', 'content_filter') }),
  );

  it('one id, role first, exactly one finish, usage chunk iff asked, [DONE] last', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 20 }), fc.boolean(), (events, includeUsage) => {
        const all: GatewayEvent[] = [...events, { type: 'end', finishReason: 'stop' }];
        const frames = parseWire(run(all, { includeUsage }));
        expect(frames.at(-1)).toBe('[DONE]');
        expect(frames.filter((f) => f === '[DONE]')).toHaveLength(1);
        const chunks = frames.slice(0, -1) as Array<{
          id: string;
          choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>;
          usage?: unknown;
        }>;
        expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(['chatcmpl-xyz']));
        expect(chunks[0]?.choices[0]?.delta).toStrictEqual(ROLE);
        const finishes = chunks.flatMap((c, i) => (c.choices[0]?.finish_reason ? [i] : []));
        expect(finishes).toHaveLength(1);
        const sawUsage = events.some((e) => e.type === 'usage');
        const tail = chunks.slice((finishes[0] ?? 0) + 1);
        expect(tail).toStrictEqual(includeUsage && sawUsage ? [USAGE_CHUNK] : []);
        for (const c of chunks.slice(0, (finishes[0] ?? 0) + 1)) {
          if (includeUsage) expect(c.usage).toBeNull();
          else expect(c).not.toHaveProperty('usage');
        }
        // text reassembles exactly
        const sent = chunks.map((c) => (c.choices[0]?.delta.content as string | undefined) ?? '').join('');
        const endAt = all.findIndex((e) => e.type === 'end');
        const expected = all
          .slice(0, endAt)
          .map((e) => (e.type === 'text' ? e.text : ''))
          .join('');
        expect(sent).toBe(expected);
      }),
    );
  });
});
