/**
 * Server-sent-events framing shared by every front end. Pure string building: the HTTP layer writes the result.
 *
 * A frame is `data: ...\n\n`; a payload holding line breaks becomes several `data:` lines, which the client
 * joins back with "\n" (JSON.stringify never emits raw CR/LF, so JSON payloads stay on one line for free).
 */

/** Ends an OpenAI stream; sent exactly once, after the last chunk. */
export const SSE_DONE = 'data: [DONE]\n\n';

const LINE_BREAK = /\r\n|\r|\n/;

function dataLines(payload: string): string {
  if (payload.indexOf('\n') === -1 && payload.indexOf('\r') === -1) return `data: ${payload}\n`;
  return payload
    .split(LINE_BREAK)
    .map((line) => `data: ${line}\n`)
    .join('');
}

/** One `data:` frame, e.g. sseData(JSON.stringify(chunk)). */
export function sseData(payload: string): string {
  return `${dataLines(payload)}\n`;
}

/** A named frame (`event: name` + data), as the Anthropic Messages and Responses streams use. */
export function sseEvent(name: string, payload: string): string {
  if (name.length === 0 || LINE_BREAK.test(name)) {
    throw new TypeError(`SSE event name must be non-empty and on one line, got ${JSON.stringify(name)}`);
  }
  return `event: ${name}\n${dataLines(payload)}\n`;
}
