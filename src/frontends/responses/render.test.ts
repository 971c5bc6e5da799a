import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import type { GatewayEvent, Usage } from '../../core/types.js';
import { parseResponsesRequest } from './request.js';
import { createResponsesEncoder, renderResponse, type ResponseInit } from './render.js';
import { wholeAnswer } from '../test-helpers.js';

const usage: Usage = { inputTokens: 5, outputTokens: 7, totalTokens: 12, estimated: false };
const init: ResponseInit = { id: 'resp_1', createdAt: 1_700_000_000, model: 'gpt-4o', echo: parseResponsesRequest({ model: 'gpt-4o', input: 'x' }).echo };

function frames(wire: string): Array<{ event: string; data: Record<string, unknown> }> {
  return wire
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      const [ev, data] = f.split('\n');
      return { event: (ev as string).slice('event: '.length), data: JSON.parse((data as string).slice('data: '.length)) as Record<string, unknown> };
    });
}

function run(events: GatewayEvent[], failure?: GatewayError): Array<{ event: string; data: Record<string, unknown> }> {
  const enc = createResponsesEncoder(init);
  let wire = enc.start?.() ?? '';
  for (const e of events) wire += enc.encode(e);
  wire += failure ? enc.error(failure) : enc.done();
  return frames(wire);
}

describe('responses stream encoder', () => {
  it.each<[string, GatewayEvent[], string[]]>([
    [
      'text',
      [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
        { type: 'usage', usage },
        { type: 'end', finishReason: 'stop' },
      ],
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    ],
    [
      'an empty answer still has its message',
      [{ type: 'end', finishReason: 'stop' }],
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    ],
    [
      'tool calls only',
      [
        { type: 'tool_calls', calls: [{ id: 'call_1', name: 'f', arguments: '{}' }] },
        { type: 'end', finishReason: 'tool_calls' },
      ],
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    ],
    [
      'length: incomplete',
      [
        { type: 'text', text: 'a' },
        { type: 'end', finishReason: 'length' },
      ],
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.incomplete',
      ],
    ],
    [
      'nothing after the end',
      [
        { type: 'end', finishReason: 'stop' },
        { type: 'text', text: 'late' },
      ],
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    ],
  ])('%s', (_name, events, expected) => {
    const out = run(events);
    expect(out.map((f) => f.event)).toEqual(expected);
    expect(out.map((f) => f.data.sequence_number)).toEqual(out.map((_, i) => i));
    for (const f of out) expect(f.data.type).toBe(f.event);
  });

  it('the final response carries the output and usage', () => {
    const out = run([
      { type: 'reasoning', text: 'r' },
      { type: 'text', text: 'hi' },
      { type: 'usage', usage },
      { type: 'end', finishReason: 'length' },
    ]);
    const last = out.at(-1)?.data.response as Record<string, unknown>;
    expect(last.status).toBe('incomplete');
    expect(last.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(last.usage).toEqual({ input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 });
    const output = last.output as Array<Record<string, unknown>>;
    expect(output.map((o) => [o.type, o.status])).toEqual([
      ['reasoning', 'completed'],
      ['message', 'incomplete'],
    ]);
  });

  it('an error mid-stream: error then response.failed, nothing after', () => {
    const out = run([{ type: 'text', text: 'a' }], new GatewayError('gone', { status: 502, type: 'api_error', code: 'upstream_error' }));
    expect(out.slice(-2).map((f) => f.event)).toEqual(['error', 'response.failed']);
    expect(out.at(-2)?.data).toMatchObject({ code: 'upstream_error', message: 'gone', param: null });
    expect((out.at(-1)?.data.response as Record<string, unknown>).error).toEqual({ code: 'upstream_error', message: 'gone' });
  });

  it('done() before the end refuses', () => {
    const enc = createResponsesEncoder(init);
    enc.encode({ type: 'text', text: 'x' });
    expect(() => enc.done()).toThrow(/error\(\)/);
  });
});

describe('renderResponse', () => {
  it('tool calls without text: no message item', () => {
    const res = renderResponse(init, wholeAnswer({ text: '', reasoning: '', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }], usage, finishReason: 'tool_calls' }));
    expect(res.output).toEqual([{ id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', arguments: '{"a":1}', call_id: 'call_1', name: 'f' }]);
    expect(res.status).toBe('completed');
  });
});

describe('parseResponsesRequest', () => {
  it('function_call items join the assistant turn before them', () => {
    const { request } = parseResponsesRequest({
      model: 'm',
      instructions: 'sys',
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'g', arguments: '{"x":1}' },
        { type: 'function_call_output', call_id: 'c1', output: 'r1' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'r2' }] },
      ],
      tools: [
        { type: 'function', name: 'f', parameters: { type: 'object' } },
        { type: 'function', name: 'g' },
      ],
      tool_choice: { type: 'function', name: 'g' },
      reasoning: { effort: 'minimal' },
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'c1', name: 'f', arguments: '{}' },
          { id: 'c2', name: 'g', arguments: '{"x":1}' },
        ],
      },
      { role: 'tool', toolCallId: 'c1', content: 'r1' },
      { role: 'tool', toolCallId: 'c2', content: 'r2' },
    ]);
    expect(request.tools).toEqual([{ name: 'f', parameters: { type: 'object' } }, { name: 'g' }]);
    expect(request.toolChoice).toEqual({ name: 'g' });
    expect(request.params.reasoningEffort).toBe('low');
  });

  it.each<[string, Record<string, unknown>, string | null]>([
    ['model missing', { input: 'x' }, 'model'],
    ['input empty', { model: 'm', input: [] }, 'input'],
    ['unknown item type', { model: 'm', input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type'],
    ['bad role', { model: 'm', input: [{ role: 'bot', content: 'x' }] }, 'input[0].role'],
    ['function_call without call_id', { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id'],
    ['tool_choice naming an absent tool', { model: 'm', input: 'x', tool_choice: { type: 'function', name: 'f' } }, 'tool_choice.name'],
    ['max_output_tokens zero', { model: 'm', input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
    ['background', { model: 'm', input: 'x', background: true }, 'background'],
    ['text a string', { model: 'm', input: 'x', text: 'json' }, 'text'],
    ['text.format without type', { model: 'm', input: 'x', text: { format: {} } }, 'text.format.type'],
    ['text.format type unknown', { model: 'm', input: 'x', text: { format: { type: 'grammar' } } }, 'text.format.type'],
    ['json_schema without name', { model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name'],
    ['json_schema schema an array', { model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n', schema: [] } } }, 'text.format.schema'],
    ['json_schema strict a number', { model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'n', strict: 1 } } }, 'text.format.strict'],
  ])('400 for %s', (_name, body, param) => {
    expect(() => parseResponsesRequest(body)).toThrow(expect.objectContaining({ status: 400, param }));
  });

  const schema = { type: 'object', properties: { a: { type: 'string' } } };
  it.each<[string, unknown, unknown, unknown]>([
    // name, text, request.responseFormat, the response's text.format
    ['absent', undefined, undefined, { type: 'text' }],
    ['null format, verbosity ignored', { format: null, verbosity: 'low' }, undefined, { type: 'text' }],
    ['text', { format: { type: 'text' } }, undefined, { type: 'text' }],
    ['json_object', { format: { type: 'json_object' } }, { type: 'json_object' }, { type: 'json_object' }],
    [
      'json_schema',
      { format: { type: 'json_schema', name: 'thing', description: 'A thing', schema, strict: true } },
      { type: 'json_schema', name: 'thing', description: 'A thing', schema, strict: true },
      { type: 'json_schema', name: 'thing', description: 'A thing', schema, strict: true },
    ],
    [
      'json_schema, strict not given',
      { format: { type: 'json_schema', name: 'thing', schema } },
      { type: 'json_schema', name: 'thing', schema },
      { type: 'json_schema', name: 'thing', schema, strict: false },
    ],
  ])('text.format: %s', (_name, text, format, echoed) => {
    const parsed = parseResponsesRequest({ model: 'm', input: 'x', text });
    expect(parsed.request.responseFormat).toEqual(format);
    const res = renderResponse({ ...init, echo: parsed.echo }, wholeAnswer({ text: '{}', reasoning: '', toolCalls: [], usage, finishReason: 'stop' }));
    expect(res.text).toEqual({ format: echoed });
  });
});
