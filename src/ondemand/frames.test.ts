import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFrameParser, translateFrame, type UpstreamEvent } from './frames.js';

const encoder = new TextEncoder();
const bytes = (s: string): Uint8Array => encoder.encode(s);

/** Feeds the chunks, then ends the stream; returns every event. */
function run(chunks: Array<string | Uint8Array>, maxFrameBytes?: number): UpstreamEvent[] {
  const parser = createFrameParser(maxFrameBytes === undefined ? {} : { maxFrameBytes });
  const events: UpstreamEvent[] = [];
  for (const c of chunks) events.push(...parser.push(typeof c === 'string' ? bytes(c) : c));
  events.push(...parser.end());
  return events;
}

/** Cuts `data` at the given sorted, distinct offsets. */
function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    parts.push(data.subarray(from, cut));
    from = cut;
  }
  parts.push(data.subarray(from));
  return parts;
}

const deltasOf = (events: UpstreamEvent[]): string => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

const fulfil = (answer: string, i = 1): string => JSON.stringify({ eventType: 'fulfillment', answer, sessionId: 's1', messageId: 'm1', status: 'processing', eventIndex: i });

const K: UpstreamEvent = { type: 'keepalive' };
const DONE: UpstreamEvent = { type: 'done' };
const delta = (text: string): UpstreamEvent => ({ type: 'delta', text });

/** A realistic stream: heartbeats, thinking, multi-byte deltas, a statusLog repeating the answer, metrics. */
const ANSWER = 'Hello wörld! 😀 日本語 — «ok»';
const ANSWER_PIECES = ['Hel', 'lo w', 'örld! ', '😀', ' 日本', '語 — «ok»'];
function realisticStream(eol = '\n'): string {
  const frame = (event: string | null, data: string): string => `${event === null ? '' : `event:${event}${eol}`}data:${data}${eol}${eol}`;
  return [
    frame('heartbeat', JSON.stringify({ sessionId: 's1', messageId: 'm1', time: '2025-01-01T00:00:00Z' })),
    frame('thinking', JSON.stringify({ eventType: 'fulfillment_thinking', thinking: { delta: 'Let me think… 🤔' } })),
    ...ANSWER_PIECES.map((p, i) => frame(i % 2 === 0 ? 'message' : null, fulfil(p, i + 1))),
    `: a comment${eol}`,
    frame('message', JSON.stringify({ eventType: 'statusLog', currentStatusLog: { statusType: 'fulfillment', statusMessage: ANSWER, time: 1 } })),
    frame(
      'message',
      JSON.stringify({ eventType: 'metricsLog', publicMetrics: { inputTokens: 12, outputTokens: 9, totalTokens: 21, ragTimeSec: 0, fulfillmentTimeSec: 1.2, totalTimeSec: 1.3 } }),
    ),
    frame(null, '[DONE]'),
  ].join('');
}
const REALISTIC_EVENTS: UpstreamEvent[] = [
  K,
  { type: 'thinking', text: 'Let me think… 🤔' },
  ...ANSWER_PIECES.map(delta),
  K,
  { type: 'metrics', inputTokens: 12, outputTokens: 9, totalTokens: 21 },
  DONE,
];

describe('createFrameParser: frame edge cases', () => {
  it.each<[string, Array<string | Uint8Array>, UpstreamEvent[]]>([
    ['data: without a space', [`data:${fulfil('a')}\n\n`], [delta('a')]],
    ['data: with a space', [`data: ${fulfil('a')}\n\n`], [delta('a')]],
    ['CRLF line endings', [`event: message\r\ndata:${fulfil('a')}\r\n\r\ndata:[DONE]\r\n\r\n`], [delta('a'), DONE]],
    ['lone CR line endings', [`event:message\rdata:${fulfil('a')}\r\rdata:[DONE]\r\r`], [delta('a'), DONE]],
    ['no event: line', [`data:${fulfil('a')}\n\n`], [delta('a')]],
    ['the JSON eventType wins over the event: line', [`event:heartbeat\ndata:${fulfil('a')}\n\n`], [delta('a')]],
    ['several frames in one chunk', [`data:${fulfil('a')}\n\ndata:${fulfil('b')}\n\ndata:[DONE]\n\n`], [delta('a'), delta('b'), DONE]],
    ['comment lines are no frame', [`: ping\n\n:\n\ndata:${fulfil('a')}\n\n`], [delta('a')]],
    ['id:, retry: and unknown fields are ignored', [`id: 7\nretry: 10\nfoo: bar\nnonsense\ndata:${fulfil('a')}\n\n`], [delta('a')]],
    ['empty data', ['data:\n\n', 'data: \n\n'], [K, K]],
    ['a blank line alone is no frame', ['\n\n\n'], []],
    ['malformed JSON', ['data:{"eventType":"fulfillment","answer":\n\n', 'data:{nope}\n\n', 'data:hello\n\n'], [K, K, K]],
    ['JSON that is not an object', ['data:"x"\n\ndata:[1,2]\n\ndata:null\n\ndata:42\n\n'], [K, K, K, K]],
    ['fulfillment with an empty answer is skipped', [`data:${fulfil('')}\n\n`], [K]],
    ['fulfillment without a string answer', ['data:{"eventType":"fulfillment","answer":null}\n\ndata:{"eventType":"fulfillment"}\n\n'], [K, K]],
    ['whitespace in an answer is content', [`data:${fulfil(' \n ')}\n\n`], [delta(' \n ')]],
    [
      'statusLog repeating the whole answer is never content',
      [`data:${JSON.stringify({ eventType: 'statusLog', currentStatusLog: { statusType: 'x', statusMessage: 'the answer', time: 1 } })}\n\n`],
      [K],
    ],
    ['fulfillment_thinking', ['data:{"eventType":"fulfillment_thinking","thinking":{"delta":"hmm"}}\n\n'], [{ type: 'thinking', text: 'hmm' }]],
    ['fulfillment_thinking with an empty delta', ['data:{"eventType":"fulfillment_thinking","thinking":{"delta":""}}\n\n'], [K]],
    [
      'planner and plugin frames are never content',
      [
        'data:{"eventType":"planning_thinking","thinking":{"delta":"plan"}}\n\n',
        'data:{"eventType":"step_thinking","thinking":{"delta":"step"}}\n\n',
        'data:{"eventType":"planning_output","output":{"delta":"{}"}}\n\n',
        'data:{"eventType":"step_output","output":{"delta":"{}"}}\n\n',
      ],
      [K, K, K, K],
    ],
    ['unknown eventType', ['data:{"eventType":"something_new","answer":"no"}\n\n'], [K]],
    ['heartbeat', ['event:heartbeat\ndata:{"sessionId":"s","messageId":"m","time":"t"}\n\n'], [K]],
    [
      'metricsLog',
      ['data:{"eventType":"metricsLog","publicMetrics":{"inputTokens":10,"outputTokens":3,"totalTokens":13}}\n\n'],
      [{ type: 'metrics', inputTokens: 10, outputTokens: 3, totalTokens: 13 }],
    ],
    [
      'metricsLog with numeric strings and no total',
      ['data:{"eventType":"metricsLog","publicMetrics":{"inputTokens":"10","outputTokens":"3"}}\n\n'],
      [{ type: 'metrics', inputTokens: 10, outputTokens: 3, totalTokens: 13 }],
    ],
    ['metricsLog without usable counts', ['data:{"eventType":"metricsLog"}\n\ndata:{"eventType":"metricsLog","publicMetrics":{"inputTokens":-1,"outputTokens":3}}\n\n'], [K, K]],
    ['[DONE]', ['data:[DONE]\n\n'], [DONE]],
    ['[DONE] with a space after data:', ['data: [DONE]\n\n'], [DONE]],
    [
      '[ERROR]:{json}',
      ['data:[ERROR]:{"message":"Context too long","errorCode":"context_length_exceeded"}\n\n'],
      [{ type: 'error', message: 'Context too long', errorCode: 'context_length_exceeded' }],
    ],
    ['[ERROR] {json}', ['data:[ERROR] {"message":"Model failed","errorCode":"model_error"}\n\n'], [{ type: 'error', message: 'Model failed', errorCode: 'model_error' }]],
    [
      '[ERROR]:{json} with a nested error object',
      ['data:[ERROR]:{"error":{"message":"boom","code":"server_error"}}\n\n'],
      [{ type: 'error', message: 'boom', errorCode: 'server_error' }],
    ],
    [
      '[ERROR]:{json} without a message',
      ['data:[ERROR]:{"errorCode":"model_error"}\n\n'],
      [{ type: 'error', message: 'upstream reported an error in the stream', errorCode: 'model_error' }],
    ],
    ['[ERROR]:text', ['data:[ERROR]:Something broke\n\n'], [{ type: 'error', message: 'Something broke', errorCode: undefined }]],
    ['[ERROR]:{broken json', ['data:[ERROR]:{oops\n\n'], [{ type: 'error', message: '{oops', errorCode: undefined }]],
    ['[ERROR] alone', ['data:[ERROR]\n\n'], [{ type: 'error', message: 'upstream reported an error in the stream', errorCode: undefined }]],
    ['other bracketed text', ['data:[PING]\n\n'], [K]],
    ['data split over several data: lines is joined with a newline', ['data:{"eventType":"fulfillment",\ndata:"answer":"joined"}\n\n'], [delta('joined')]],
    ['an unterminated last frame is flushed at the end', [`data:${fulfil('a')}\n\ndata:[DONE]`], [delta('a'), DONE]],
    ['an unterminated frame ending in CR is flushed at the end', ['data:[DONE]\r'], [DONE]],
    ['a truncated last frame is no content', ['data:{"eventType":"fulfillment","ans'], [K]],
    ['a UTF-8 byte order mark is ignored', [new Uint8Array([0xef, 0xbb, 0xbf]), `data:${fulfil('a')}\n\n`], [delta('a')]],
    [
      'invalid UTF-8 becomes replacement characters',
      [new Uint8Array([...bytes('data:{"eventType":"fulfillment","answer":"a'), 0xff, 0xc3, ...bytes('b"}\n\n')])],
      [delta('a\uFFFD\uFFFDb')],
    ],
    [
      'a multi-byte character cut off by the end of the stream',
      [new Uint8Array([...bytes('data:{"eventType":"fulfillment","answer":"a"}\n\ndata:x'), 0xf0, 0x9f])],
      [delta('a'), K],
    ],
    ['empty chunks', [new Uint8Array(0), `data:${fulfil('a')}\n\n`, new Uint8Array(0)], [delta('a')]],
  ])('%s', (_name, chunks, expected) => {
    expect(run(chunks)).toEqual(expected);
  });
});

describe('createFrameParser: splitting', () => {
  it('a multi-byte character split at every byte offset decodes the same', () => {
    const text = 'é€😀日本語𝄞';
    const frame = bytes(`data:${fulfil(text)}\n\n`);
    const start = frame.indexOf(0xc3); // first byte of é
    for (let cut = start; cut <= start + bytes(text).length; cut++) {
      expect(run(splitAt(frame, [cut]))).toEqual([delta(text)]);
    }
  });

  it.each(['\n', '\r\n', '\r'])('a realistic stream (EOL %j) split at every position gives the same events', (eol) => {
    const stream = bytes(realisticStream(eol));
    expect(run([stream])).toEqual(REALISTIC_EVENTS);
    expect(deltasOf(run([stream]))).toBe(ANSWER);
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(run(splitAt(stream, [cut]))).toEqual(REALISTIC_EVENTS);
    }
  });

  it('a realistic stream fed one byte at a time gives the same events', () => {
    const stream = bytes(realisticStream('\r\n'));
    const chunks = Array.from(stream, (b) => new Uint8Array([b]));
    expect(run(chunks)).toEqual(REALISTIC_EVENTS);
  });

  it('events come out as soon as their frame is complete', () => {
    const parser = createFrameParser();
    expect(parser.push(bytes(`data:${fulfil('a')}\n`))).toEqual([]);
    expect(parser.push(bytes('\ndata:[DO'))).toEqual([delta('a')]);
    expect(parser.push(bytes('NE]\n\n'))).toEqual([DONE]);
    expect(parser.end()).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it('property: any split of a valid stream gives the same events', () => {
    const eols = fc.constantFrom('\n', '\r\n', '\r');
    fc.assert(
      fc.property(eols, fc.array(fc.nat(), { maxLength: 40 }), (eol, rawCuts) => {
        const stream = bytes(realisticStream(eol));
        const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const events = run(splitAt(stream, cuts));
        expect(events).toEqual(REALISTIC_EVENTS);
        expect(deltasOf(events)).toBe(ANSWER);
      }),
      { numRuns: 300 },
    );
  });
});

describe('createFrameParser: oversized frames', () => {
  const MAX = 64;
  const tooLarge = (): UpstreamEvent => ({
    type: 'error',
    message: `upstream sent a frame larger than ${MAX} bytes`,
    errorCode: 'frame_too_large',
  });

  /** a frame line without sessionId and friends, to stay under the small test limit */
  const short = (answer: string): string => `data:${JSON.stringify({ eventType: 'fulfillment', answer })}`;

  it('a line of exactly maxFrameBytes is accepted, one more byte is not', () => {
    const answer = 'x'.repeat(MAX - bytes(short('')).length);
    expect(bytes(short(answer)).length).toBe(MAX);
    expect(run([`${short(answer)}\n\n`], MAX)).toEqual([delta(answer)]);
    expect(run([`${short(`${answer}x`)}\n\n`], MAX)).toEqual([tooLarge()]);
  });

  it('a line without newline growing past the limit gives one error, then nothing', () => {
    const parser = createFrameParser({ maxFrameBytes: MAX });
    const events: UpstreamEvent[] = [];
    events.push(...parser.push(bytes(`${short('ok')}\n\n`)));
    events.push(...parser.push(bytes('data:' + 'y'.repeat(40))));
    expect(events).toEqual([delta('ok')]);
    events.push(...parser.push(bytes('y'.repeat(40))));
    events.push(...parser.push(bytes('y'.repeat(40))));
    events.push(...parser.push(bytes(`\n\n${short('late')}\n\ndata:[DONE]\n\n`)));
    events.push(...parser.end());
    expect(events).toEqual([delta('ok'), tooLarge()]);
  });

  it('frames before the oversized line in the same chunk still count, whatever the split', () => {
    const stream = bytes(`${short('a')}\r\n\r\ndata:${'z'.repeat(200)}\n\n${short('b')}\n\n`);
    const expected = [delta('a'), tooLarge()];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(run(splitAt(stream, [cut]), MAX)).toEqual(expected);
    }
  });

  it('many short data lines piling into one frame hit the backstop', () => {
    const chunk = 'data:aaaaaaaaaa\n'.repeat(20); // 320 bytes of one frame, never dispatched
    expect(run([chunk, chunk], MAX)).toEqual([tooLarge()]);
  });

  it('a large frame with the default limit is fine', () => {
    const big = 'b'.repeat(1024 * 1024);
    expect(run([`data:${fulfil(big)}\n\n`])).toEqual([delta(big)]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxFrameBytes %s', (maxFrameBytes) => {
    expect(() => createFrameParser({ maxFrameBytes })).toThrow(RangeError);
  });
});

describe('translateFrame', () => {
  it.each<[string, UpstreamEvent]>([
    ['', K],
    ['  [DONE]  ', DONE],
    [' {"eventType":"fulfillment","answer":"x"}', delta('x')],
    ['{"eventType":"fulfillment_thinking","thinking":"plain"}', { type: 'thinking', text: 'plain' }],
    ['{"eventType":"metricsLog","publicMetrics":{"inputTokens":1.6,"outputTokens":2,"totalTokens":"x"}}', { type: 'metrics', inputTokens: 2, outputTokens: 2, totalTokens: 4 }],
    ['[error]: lower case', { type: 'error', message: 'lower case', errorCode: undefined }],
  ])('%j', (data, expected) => {
    expect(translateFrame(data)).toEqual(expected);
  });
});

describe('translateFrame: frames skipped without parsing', () => {
  it.each<[string, UpstreamEvent]>([
    ['{"eventType":"statusLog","currentStatusLog":{"statusMessage":"the whole answer"}}', { type: 'keepalive' }],
    ['{"sessionId":"s","messageId":"m","time":"2026-01-01T00:00:00Z"}', { type: 'keepalive' }],
    // the prefilter must not hide an event type written with escapes
    ['{"eventType":"\\u0066ulfillment","answer":"escaped"}', { type: 'delta', text: 'escaped' }],
    ['{"eventType":"metrics\\u004cog","publicMetrics":{"inputTokens":1,"outputTokens":2}}', { type: 'metrics', inputTokens: 1, outputTokens: 2, totalTokens: 3 }],
    ['{"eventType" : "fulfillment", "answer":"spaced"}', { type: 'delta', text: 'spaced' }],
  ])('%j', (data, expected) => {
    expect(translateFrame(data)).toEqual(expected);
  });
});
