import { describe, expect, it } from 'vitest';
import { SSE_COMMENT_PING } from './stream-writer.js';
import { SSE_DONE, sseData, sseEvent } from './sse.js';

describe('sse framing', () => {
  it.each([
    ['json', '{"a":1}', 'data: {"a":1}\n\n'],
    ['empty', '', 'data: \n\n'],
    ['LF splits into data lines', 'a\nb', 'data: a\ndata: b\n\n'],
    ['CRLF and CR too', 'a\r\nb\rc', 'data: a\ndata: b\ndata: c\n\n'],
    ['escaped newlines in JSON stay on one line', JSON.stringify({ t: 'a\nb' }), 'data: {"t":"a\\nb"}\n\n'],
  ])('sseData: %s', (_name, payload, wire) => {
    expect(sseData(payload)).toBe(wire);
  });

  it.each([
    ['named', 'message_start', '{"type":"message_start"}', 'event: message_start\ndata: {"type":"message_start"}\n\n'],
    ['multi-line data', 'x', 'a\nb', 'event: x\ndata: a\ndata: b\n\n'],
  ])('sseEvent: %s', (_name, event, payload, wire) => {
    expect(sseEvent(event, payload)).toBe(wire);
  });

  it.each(['', 'a\nb', 'a\rb'])('sseEvent refuses the name %j', (name) => {
    expect(() => sseEvent(name, '{}')).toThrow(TypeError);
  });

  it('constants', () => {
    expect(SSE_DONE).toBe('data: [DONE]\n\n');
    expect(SSE_COMMENT_PING).toBe(': ping\n\n');
  });
});
