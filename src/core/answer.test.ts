import { describe, expect, it } from 'vitest';
import { ANSWER_STAGES, answerFilter, promptSections, upstreamQuery, type AnswerStage } from './answer.js';
import { collectAnswer } from './test-helpers.js';
import type { EventFilter, WarnLog } from './events.js';
import { collectEvents } from './test-helpers.js';
import type { GatewayEvent, GatewayRequest, Message, Usage } from './types.js';

function request(messages: Message[]): GatewayRequest {
  return { api: 'chat', requestedModel: 'gpt-4o', messages, params: {}, stream: true };
}

/** The answer through every stage's filter that applies to this request, in order; a batch filtered to nothing is dropped, as the engine does. */
function filterAnswer(
  batches: AsyncIterable<GatewayEvent[]>,
  req: GatewayRequest,
  log: WarnLog | undefined,
  stages: readonly AnswerStage[] = ANSWER_STAGES,
): AsyncIterable<GatewayEvent[]> {
  const filter = answerFilter(req, log, stages, { inputTokens: () => 0 });
  return filter === undefined ? batches : filterEvents(batches, filter);
}

async function* filterEvents(batches: AsyncIterable<GatewayEvent[]>, filter: EventFilter): AsyncGenerator<GatewayEvent[]> {
  for await (const batch of batches) {
    const out: GatewayEvent[] = [];
    for (const event of batch) for (const e of filter.push(event)) out.push(e);
    if (out.length > 0) yield out;
  }
}

describe('the structured-output example of docs/transcript.md', () => {
  it('a lone user message asking for a JSON object', () => {
    const req: GatewayRequest = { ...request([{ role: 'user', content: 'List three colours' }]), responseFormat: { type: 'json_object' } };
    expect(upstreamQuery(req, 'e').query).toBe(`List three colours

<response_format>
Write your reply as one JSON value and nothing else: no text before or after it, no Markdown code fence around it, no comments in it.
The value must be a JSON object.
</response_format>`);
  });

  it('the format section comes after the tool section', () => {
    const req: GatewayRequest = { ...request([{ role: 'user', content: 'q' }]), tools: [{ name: 'now' }], responseFormat: { type: 'json_object' } };
    expect(upstreamQuery(req, 'e').query).toMatch(/^q\n\n<tools>\n[\s\S]*\n<\/tools>\n\n<response_format>\n[\s\S]*\n<\/response_format>$/);
  });
});

describe('answer stages', () => {
  const tag = (name: string): AnswerStage => ({
    section: () => `<${name}/>`,
    filter: (): EventFilter => ({ push: (e) => (e.type === 'text' ? [{ type: 'text', text: `${e.text}+${name}` }] : [e]) }),
  });
  async function* batches(...list: GatewayEvent[][]): AsyncGenerator<GatewayEvent[]> {
    for (const b of list) yield b;
  }
  const all = async (it: AsyncIterable<GatewayEvent[]>) => {
    const out: GatewayEvent[][] = [];
    for await (const b of it) out.push(b);
    return out;
  };

  it('run in order, sections and filters alike', async () => {
    const stages = [tag('a'), tag('b')];
    expect(promptSections(request([]), stages)).toEqual(['<a/>', '<b/>']);
    const out = await all(filterAnswer(batches([{ type: 'text', text: 'x' }]), request([]), undefined, stages));
    expect(out).toEqual([[{ type: 'text', text: 'x+a+b' }]]);
  });

  it('a stage that does not apply leaves the answer alone', async () => {
    const req = request([{ role: 'user', content: 'hi' }]);
    const source = batches([{ type: 'text', text: 'x' }]);
    expect(filterAnswer(source, req, undefined)).toBe(source);
    expect(promptSections(req)).toEqual([]);
  });

  it('a batch filtered down to nothing is not passed on', async () => {
    const drop: AnswerStage = { section: () => undefined, filter: () => ({ push: (e) => (e.type === 'text' ? [] : [e]) }) };
    const out = await all(filterAnswer(batches([{ type: 'text', text: 'x' }], [{ type: 'end', finishReason: 'stop' }]), request([]), undefined, [drop, tag('b')]));
    expect(out).toEqual([[{ type: 'end', finishReason: 'stop' }]]);
  });
});

const usage: Usage = { inputTokens: 10, outputTokens: 5, totalTokens: 15, estimated: false };

describe('collectEvents', () => {
  it.each<[string, GatewayEvent[], ReturnType<typeof collectEvents>]>([
    ['nothing', [], { text: '', reasoning: '', toolCalls: [], usage: null, finishReason: null }],
    [
      'text, reasoning, usage, end',
      [
        { type: 'reasoning', text: 'hm' },
        { type: 'reasoning', text: 'm' },
        { type: 'text', text: 'Hel' },
        { type: 'text', text: 'lo' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      { text: 'Hello', reasoning: 'hmm', toolCalls: [], usage, finishReason: 'stop' },
    ],
    [
      'tool calls across events',
      [
        { type: 'tool_calls', calls: [{ id: 'a', name: 'f', arguments: '{}' }] },
        { type: 'tool_calls', calls: [{ id: 'b', name: 'g', arguments: '[]' }] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      {
        text: '',
        reasoning: '',
        toolCalls: [
          { id: 'a', name: 'f', arguments: '{}' },
          { id: 'b', name: 'g', arguments: '[]' },
        ],
        usage: null,
        finishReason: 'tool_calls',
      },
    ],
    [
      'nothing after end counts but a late usage',
      [
        { type: 'text', text: 'a' },
        { type: 'end', finishReason: 'length' },
        { type: 'text', text: 'b' },
        { type: 'end', finishReason: 'stop' },
        { type: 'usage', usage },
      ],
      { text: 'a', reasoning: '', toolCalls: [], usage, finishReason: 'length' },
    ],
  ])('%s', (_name, events, expected) => {
    expect(collectEvents(events)).toEqual(expected);
  });
});

describe('collectAnswer (the non-stream answer)', () => {
  async function* batches(...list: GatewayEvent[][]): AsyncGenerator<GatewayEvent[]> {
    for (const b of list) yield b;
  }
  it('collects the batches the engine yields', async () => {
    const answer = await collectAnswer(
      batches(
        [
          { type: 'reasoning', text: 'r' },
          { type: 'text', text: 'Hel' },
        ],
        [{ type: 'text', text: 'lo' }],
        [
          { type: 'usage', usage },
          { type: 'end', finishReason: 'length' },
        ],
      ),
    );
    expect(answer).toEqual({ text: 'Hello', reasoning: 'r', toolCalls: [], usage, finishReason: 'length' });
  });
  it('without usage or end: estimated-empty usage and a normal stop', async () => {
    expect(await collectAnswer(batches([{ type: 'text', text: 'x' }]))).toEqual({
      text: 'x',
      reasoning: '',
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true },
      finishReason: 'stop',
    });
  });
});
