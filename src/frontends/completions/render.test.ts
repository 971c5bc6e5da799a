import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { GatewayEvent, Usage } from '../../core/types.js';
import { createTextCompletionEncoder } from './render.js';

const usage: Usage = { inputTokens: 2, outputTokens: 3, totalTokens: 5, estimated: false };
const init = { id: 'cmpl-1', created: 1, model: 'm' };

function run(events: GatewayEvent[], opts: { includeUsage: boolean; echoPrompt?: string }, failure?: GatewayError): unknown[] {
  const enc = createTextCompletionEncoder({ ...init, ...opts });
  let wire = '';
  for (const e of events) wire += enc.encode(e);
  wire += failure ? enc.error(failure) : enc.done();
  return wire
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => (f === 'data: [DONE]' ? '[DONE]' : JSON.parse(f.slice(6))));
}

const chunk = (text: string, finish: string | null, extra: Record<string, unknown> = {}) => ({
  id: 'cmpl-1',
  object: 'text_completion',
  created: 1,
  model: 'm',
  choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
  system_fingerprint: null,
  ...extra,
});

describe('text completion stream encoder', () => {
  const events: GatewayEvent[] = [
    { type: 'reasoning', text: 'skip me' },
    { type: 'text', text: 'Hi' },
    { type: 'usage', usage },
    { type: 'end', finishReason: 'stop' },
  ];
  it.each<[string, { includeUsage: boolean; echoPrompt?: string }, unknown[]]>([
    ['plain', { includeUsage: false }, [chunk('Hi', null), chunk('', 'stop'), '[DONE]']],
    [
      'with usage',
      { includeUsage: true },
      [
        chunk('Hi', null, { usage: null }),
        chunk('', 'stop', { usage: null }),
        { ...chunk('', null, { usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } }), choices: [] },
        '[DONE]',
      ],
    ],
    ['echo', { includeUsage: false, echoPrompt: 'P: ' }, [chunk('P: ', null), chunk('Hi', null), chunk('', 'stop'), '[DONE]']],
  ])('%s', (_name, opts, expected) => {
    expect(run(events, opts)).toEqual(expected);
  });

  it('an error frame and no [DONE]', () => {
    expect(run([{ type: 'text', text: 'a' }], { includeUsage: false }, new GatewayError('x', { status: 502, type: 'api_error', code: 'c' }))).toEqual([
      chunk('a', null),
      { error: { message: 'x', type: 'api_error', param: null, code: 'c' } },
    ]);
  });
});
