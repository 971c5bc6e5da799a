import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createFrameParser, readPluginCalls, type UpstreamEvent } from './frames.js';

/** the live captures kept with the tests (test/fixtures/ondemand-captures/README.md says what they are) */
const CAPTURES = fileURLToPath(new URL('../../test/fixtures/ondemand-captures', import.meta.url));

/** A capture's OnDemand bytes: the capturer's `#` lines and the capturing app's own frames dropped. */
function captureBytes(file: string): Buffer {
  const raw = readFileSync(`${CAPTURES}/${file}`, 'utf8');
  // the capturer's header (and, in apichat-*, the annotated answer in it) ends where the stream begins
  const text = raw.slice(Math.max(0, raw.search(/^(event|data):/m)));
  const blocks = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .split('\n\n')
    .filter((b) => !/^data:\{"type":/m.test(b));
  return Buffer.from(blocks.join('\n\n'), 'utf8');
}

function parseInPieces(bytes: Buffer, seed: number): UpstreamEvent[] {
  const parser = createFrameParser();
  const out: UpstreamEvent[] = [];
  let x = seed;
  for (let i = 0; i < bytes.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (x % 97);
    out.push(...parser.push(bytes.subarray(i, i + n)));
    i += n;
  }
  out.push(...parser.end());
  return out;
}

const cases: Array<[string, string]> = [
  ['gpt-5.6-sol-medium-plugin-call.sse.log', 'Abu Dhabi current weather latest observation time temperature conditions'],
  ['apichat-prefix-glm47-max-20260720T2039Z.sse.log', 'cause of ocean tides'],
];

describe.skipIf(!existsSync(CAPTURES))('plugin calls in the captured streams', () => {
  it.each(cases)('%s: one plugin_call with the query it ran, and no planner text in the answer or reasoning', (file, query) => {
    for (const seed of [1, 7, 42]) {
      const events = parseInPieces(captureBytes(file), seed);
      const calls = events.filter((e) => e.type === 'plugin_call');
      expect(calls).toEqual([{ type: 'plugin_call', pluginId: 'plugin-1713924030', name: 'fetchInternetData', query }]);
      const text = events.flatMap((e) => (e.type === 'delta' || e.type === 'thinking' ? [e.text] : [])).join('');
      expect(text).not.toContain('"objective"');
      expect(text).not.toContain('api_request_parameters');
      // the call comes before the answer
      expect(events.findIndex((e) => e.type === 'plugin_call')).toBeLessThan(events.findIndex((e) => e.type === 'delta'));
    }
  });

  it.each(['plugin-call-stream-raw.txt', 'gpt56sol-agent-stream-20260720T045225Z.sse.log', 'apichat-postfix-gpt56sol-low-20260720T2043Z.sse.log'])(
    '%s: a plugin_call with a query',
    (file) => {
      const calls = parseInPieces(captureBytes(file), 3).filter((e) => e.type === 'plugin_call');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ pluginId: 'plugin-1713924030' });
      expect((calls[0] as { query?: string }).query).toMatch(/\S/);
    },
  );
});

describe('readPluginCalls', () => {
  it.each<[string, string, UpstreamEvent[] | undefined]>([
    ['incomplete JSON', '{"plugins":[{"pluginId":"plugin-1"', undefined],
    [
      'a fenced call',
      '```json\n{"plugins":[{"pluginId":"plugin-1","name":"f","api_request_parameters":{"query":"q"}}]}\n```',
      [{ type: 'plugin_call', pluginId: 'plugin-1', name: 'f', query: 'q' }],
    ],
    ['no query', '{"plugins":[{"pluginId":"plugin-2"}]}', [{ type: 'plugin_call', pluginId: 'plugin-2', name: 'plugin-2', query: undefined }]],
    [
      'two plugins',
      '{"plugins":[{"pluginId":"plugin-1","name":"a"},{"pluginId":"plugin-2","name":"b"}]}',
      [
        { type: 'plugin_call', pluginId: 'plugin-1', name: 'a', query: undefined },
        { type: 'plugin_call', pluginId: 'plugin-2', name: 'b', query: undefined },
      ],
    ],
    ['no plugins', '{"steps":[]}', []],
  ])('%s', (_name, text, expected) => {
    expect(readPluginCalls(text)).toEqual(expected);
  });
});
