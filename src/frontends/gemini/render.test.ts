/** The Gemini renderer and stream encoder: the same answer whole and streamed, the finish reasons, the errors. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { countTokens } from '../../core/tokens.js';
import type { FinishReason, GatewayEvent, UrlCitation, Usage } from '../../core/types.js';
import { createGeminiEncoder, groundingMetadata, renderGeminiError, renderGenerateContent, toFinishReason } from './render.js';
import { wholeAnswer } from '../test-helpers.js';

const usage: Usage = { inputTokens: 10, outputTokens: 40, totalTokens: 50, estimated: false };
const init = { responseId: 'r1', modelVersion: 'gemini-2.5-flash', includeThoughts: true };
const call = { id: 'call_1', name: 'f', arguments: '{"a":1}' };
const events: GatewayEvent[] = [
  { type: 'reasoning', text: 'think ' },
  { type: 'reasoning', text: 'more' },
  { type: 'text', text: 'Hel' },
  { type: 'text', text: 'lo' },
  { type: 'tool_calls', calls: [call] },
  { type: 'usage', usage },
  { type: 'end', finishReason: 'tool_calls' },
];

function streamFrames(wire: string): Array<Record<string, unknown>> {
  return wire
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      expect(f.startsWith('data: ')).toBe(true);
      return JSON.parse(f.slice('data: '.length)) as Record<string, unknown>;
    });
}

describe('renderGenerateContent and the encoder', () => {
  it('whole: thoughts, text, calls; usage with the thoughts counted out of the output', () => {
    const body = renderGenerateContent(init, wholeAnswer({ text: 'Hello', reasoning: 'think more', toolCalls: [call], usage, finishReason: 'tool_calls' }));
    const thoughts = countTokens('think more');
    expect(body).toEqual({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'think more', thought: true }, { text: 'Hello' }, { functionCall: { id: 'call_1', name: 'f', args: { a: 1 } } }] },
          finishReason: 'STOP',
          index: 0,
        },
      ],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 40 - thoughts, thoughtsTokenCount: thoughts, totalTokenCount: 50 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'r1',
    });
  });

  it('streamed: one data frame per delta, then the finish frame with usage; the parts add up to the whole', () => {
    const enc = createGeminiEncoder(init);
    const wire = events.map((e) => enc.encode(e)).join('') + enc.done();
    const frames = streamFrames(wire);
    expect(frames).toHaveLength(6);
    const parts = frames.flatMap((f) => (f.candidates as Array<{ content: { parts: Array<Record<string, unknown>> } }>)[0]?.content.parts ?? []);
    expect(parts).toEqual([
      { text: 'think ', thought: true },
      { text: 'more', thought: true },
      { text: 'Hel' },
      { text: 'lo' },
      { functionCall: { id: 'call_1', name: 'f', args: { a: 1 } } },
      { text: '' },
    ]);
    for (const f of frames) expect(f).toMatchObject({ modelVersion: 'gemini-2.5-flash', responseId: 'r1' });
    const last = frames.at(-1) as Record<string, unknown>;
    expect(last).toMatchObject({ candidates: [{ finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 10, totalTokenCount: 50 } });
    expect(frames.slice(0, -1).some((f) => 'usageMetadata' in f || JSON.stringify(f).includes('finishReason'))).toBe(false);
    expect(enc.done()).toBe('');
  });

  it('thoughts stay out unless asked for, but are still counted', () => {
    const enc = createGeminiEncoder({ ...init, includeThoughts: false });
    const wire = events.map((e) => enc.encode(e)).join('') + enc.done();
    expect(wire).not.toContain('"thought"');
    expect(wire).toContain(`"thoughtsTokenCount":${countTokens('think more')}`);
  });

  it('done() before end throws; an error frame ends the stream in Gemini shape', () => {
    const enc = createGeminiEncoder(init);
    enc.encode({ type: 'text', text: 'x' });
    expect(() => enc.done()).toThrow();
    const frame = enc.error(new GatewayError('upstream broke', { status: 502, type: 'upstream_error' }));
    expect(streamFrames(frame)).toEqual([{ error: { code: 502, message: 'upstream broke', status: 'UNAVAILABLE' } }]);
    expect(enc.error(new GatewayError('again', { status: 500, type: 'api_error' }))).toBe('');
    expect(enc.done()).toBe('');
  });

  it.each([
    ['stop', 'STOP'],
    ['tool_calls', 'STOP'],
    ['length', 'MAX_TOKENS'],
    ['content_filter', 'SAFETY'],
  ] as const)('finish %s → %s', (finish: FinishReason, expected) => {
    expect(toFinishReason(finish)).toBe(expected);
  });

  it('grounding: queries, pages once each, segments in UTF-8 bytes', () => {
    const text = 'é see [A](https://a.test) and [A](https://a.test)';
    const at = (s: string, from = 0) => text.indexOf(s, from);
    const citations: UrlCitation[] = [
      { url: 'https://a.test', title: 'A', startIndex: at('['), endIndex: at(')') + 1 },
      { url: 'https://a.test', title: 'A', startIndex: at('[', 10), endIndex: text.length },
    ];
    const g = groundingMetadata(text, [{ pluginId: 'p', name: 'n', query: 'q', webSearch: true }], citations);
    expect(g).toMatchObject({ webSearchQueries: ['q'], groundingChunks: [{ web: { uri: 'https://a.test', title: 'A' } }] });
    const supports = (g as { groundingSupports: Array<{ segment: { startIndex: number }; groundingChunkIndices: number[] }> }).groundingSupports;
    expect(supports.map((s) => s.segment.startIndex)).toEqual([at('[') + 1, at('[', 10) + 1]);
    expect(supports.map((s) => s.groundingChunkIndices)).toEqual([[0], [0]]);
    expect(groundingMetadata('x', undefined, undefined)).toBeUndefined();
  });
});

describe('renderGeminiError', () => {
  it.each([
    [400, 'INVALID_ARGUMENT'],
    [401, 'UNAUTHENTICATED'],
    [404, 'NOT_FOUND'],
    [413, 'INVALID_ARGUMENT'],
    [429, 'RESOURCE_EXHAUSTED'],
    [500, 'INTERNAL'],
    [503, 'UNAVAILABLE'],
    [504, 'DEADLINE_EXCEEDED'],
  ])('%i → %s', (status, name) => {
    expect(renderGeminiError(new GatewayError('m', { status, type: 'api_error' }))).toEqual({ error: { code: status, message: 'm', status: name } });
  });

  it('a wait becomes a RetryInfo detail; a client hang-up is answered as 400 CANCELLED', () => {
    const limited = renderGeminiError(new GatewayError('slow down', { status: 429, type: 'rate_limit_error', retryAfterSec: 2.5 }));
    expect(limited).toMatchObject({ error: { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' }] } });
    expect(renderGeminiError(new GatewayError('gone', { status: 499, type: 'invalid_request_error' }))).toMatchObject({ error: { code: 400, status: 'CANCELLED' } });
  });
});
