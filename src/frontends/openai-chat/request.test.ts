import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { convertContentParts, parseChatRequest } from './request.js';

const user = (content: unknown) => ({ role: 'user', content });
const base = { model: 'gpt-4o', messages: [user('hi')] };
const withBody = (extra: Record<string, unknown>) => ({ ...base, ...extra });

function rejection(body: unknown): GatewayError {
  try {
    parseChatRequest(body);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('parseChatRequest rejects with an OpenAI-shaped 400 naming the field', () => {
  const cases: Array<[string, unknown, string | null, string]> = [
    // name, body, param, code
    ['body is null', null, null, 'invalid_type'],
    ['body is an array', [base], null, 'invalid_type'],
    ['body is a string', 'hello', null, 'invalid_type'],
    ['model missing', { messages: [user('hi')] }, 'model', 'missing_required_parameter'],
    ['model null', withBody({ model: null }), 'model', 'missing_required_parameter'],
    ['model a number', withBody({ model: 4 }), 'model', 'invalid_type'],
    ['model empty', withBody({ model: '  ' }), 'model', 'invalid_value'],
    ['messages missing', { model: 'm' }, 'messages', 'missing_required_parameter'],
    ['messages an object', withBody({ messages: { role: 'user' } }), 'messages', 'invalid_type'],
    ['messages empty', withBody({ messages: [] }), 'messages', 'empty_array'],
    ['message not an object', withBody({ messages: [user('a'), 'hi'] }), 'messages[1]', 'invalid_type'],
    ['role missing', withBody({ messages: [{ content: 'x' }] }), 'messages[0].role', 'missing_required_parameter'],
    ['role a number', withBody({ messages: [{ role: 1, content: 'x' }] }), 'messages[0].role', 'invalid_type'],
    ['role unknown', withBody({ messages: [user('a'), { role: 'bot', content: 'x' }] }), 'messages[1].role', 'invalid_value'],
    ['role from the prototype', withBody({ messages: [{ role: 'constructor', content: 'x' }] }), 'messages[0].role', 'invalid_value'],
    ['user content missing', withBody({ messages: [{ role: 'user' }] }), 'messages[0].content', 'missing_required_parameter'],
    ['user content null', withBody({ messages: [user(null)] }), 'messages[0].content', 'missing_required_parameter'],
    ['user content a number', withBody({ messages: [user('a'), user('b'), user(42)] }), 'messages[2].content', 'invalid_type'],
    ['user content an object', withBody({ messages: [user({ text: 'x' })] }), 'messages[0].content', 'invalid_type'],
    ['system content null', withBody({ messages: [{ role: 'system', content: null }] }), 'messages[0].content', 'missing_required_parameter'],
    ['assistant null content, no tool calls', withBody({ messages: [{ role: 'assistant', content: null }] }), 'messages[0].content', 'missing_required_parameter'],
    ['part not an object', withBody({ messages: [user(['x'])] }), 'messages[0].content[0]', 'invalid_type'],
    ['text part without text', withBody({ messages: [user([{ type: 'text' }])] }), 'messages[0].content[0].text', 'missing_required_parameter'],
    ['text part with a number', withBody({ messages: [user([{ type: 'text', text: 1 }])] }), 'messages[0].content[0].text', 'invalid_type'],
    ['unknown part type', withBody({ messages: [user([{ type: 'text', text: 'a' }, { type: 'video' }])] }), 'messages[0].content[1].type', 'invalid_value'],
    [
      'image part',
      withBody({
        messages: [
          user('a'),
          user([
            { type: 'text', text: 'a' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          ]),
        ],
      }),
      'messages[1].content[1]',
      'unsupported_content',
    ],
    ['audio part', withBody({ messages: [user([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }])] }), 'messages[0].content[0]', 'unsupported_content'],
    ['file part', withBody({ messages: [user([{ type: 'file', file: { file_data: 'data:application/pdf;base64,AA==' } }])] }), 'messages[0].content[0]', 'unsupported_content'],
    ['name a number', withBody({ messages: [{ role: 'user', content: 'x', name: 3 }] }), 'messages[0].name', 'invalid_type'],
    ['tool message without tool_call_id', withBody({ messages: [{ role: 'tool', content: 'x' }] }), 'messages[0].tool_call_id', 'missing_required_parameter'],
    ['tool message with empty tool_call_id', withBody({ messages: [{ role: 'tool', content: 'x', tool_call_id: '' }] }), 'messages[0].tool_call_id', 'invalid_value'],
    ['tool message content null', withBody({ messages: [{ role: 'tool', content: null, tool_call_id: 'c' }] }), 'messages[0].content', 'missing_required_parameter'],
    ['function message without name', withBody({ messages: [{ role: 'function', content: 'x' }] }), 'messages[0].name', 'missing_required_parameter'],
    ['tool_calls not an array', withBody({ messages: [{ role: 'assistant', content: null, tool_calls: {} }] }), 'messages[0].tool_calls', 'invalid_type'],
    [
      'tool call without id',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }),
      'messages[0].tool_calls[0].id',
      'missing_required_parameter',
    ],
    [
      'tool call of another type',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'custom', function: { name: 'f', arguments: '{}' } }] }] }),
      'messages[0].tool_calls[0].type',
      'invalid_value',
    ],
    [
      'tool call without function',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }] }),
      'messages[0].tool_calls[0].function',
      'missing_required_parameter',
    ],
    [
      'tool call without name',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }] }] }),
      'messages[0].tool_calls[0].function.name',
      'missing_required_parameter',
    ],
    [
      'tool call without arguments',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f' } }] }] }),
      'messages[0].tool_calls[0].function.arguments',
      'missing_required_parameter',
    ],
    [
      'tool call with object arguments',
      withBody({ messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }] }),
      'messages[0].tool_calls[0].function.arguments',
      'invalid_type',
    ],
    ['stream a string', withBody({ stream: 'true' }), 'stream', 'invalid_type'],
    ['temperature a string', withBody({ temperature: '0.5' }), 'temperature', 'invalid_type'],
    ['temperature negative', withBody({ temperature: -0.1 }), 'temperature', 'invalid_value'],
    ['temperature above 2', withBody({ temperature: 2.1 }), 'temperature', 'invalid_value'],
    ['top_p above 1', withBody({ top_p: 1.5 }), 'top_p', 'invalid_value'],
    ['top_p negative', withBody({ top_p: -1 }), 'top_p', 'invalid_value'],
    ['presence_penalty negative', withBody({ presence_penalty: -1 }), 'presence_penalty', 'invalid_value'],
    ['frequency_penalty above 2', withBody({ frequency_penalty: 2.5 }), 'frequency_penalty', 'invalid_value'],
    ['frequency_penalty negative', withBody({ frequency_penalty: -2 }), 'frequency_penalty', 'invalid_value'],
    ['max_tokens zero', withBody({ max_tokens: 0 }), 'max_tokens', 'invalid_value'],
    ['max_tokens fractional', withBody({ max_tokens: 10.5 }), 'max_tokens', 'invalid_value'],
    ['max_tokens a string', withBody({ max_tokens: '10' }), 'max_tokens', 'invalid_type'],
    ['max_completion_tokens negative', withBody({ max_completion_tokens: -5 }), 'max_completion_tokens', 'invalid_value'],
    ['n = 2', withBody({ n: 2 }), 'n', 'unsupported_value'],
    ['n = 0', withBody({ n: 0 }), 'n', 'unsupported_value'],
    ['n a string', withBody({ n: '1' }), 'n', 'unsupported_value'],
    ['stop a number', withBody({ stop: 5 }), 'stop', 'invalid_type'],
    ['stop empty string', withBody({ stop: '' }), 'stop', 'invalid_value'],
    ['stop five strings', withBody({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', 'invalid_value'],
    ['stop with an empty entry', withBody({ stop: ['a', ''] }), 'stop[1]', 'invalid_value'],
    ['stop with a number entry', withBody({ stop: ['a', 3] }), 'stop[1]', 'invalid_type'],
    ['reasoning_effort unknown', withBody({ reasoning_effort: 'extreme' }), 'reasoning_effort', 'invalid_value'],
    ['reasoning_effort a number', withBody({ reasoning_effort: 1 }), 'reasoning_effort', 'invalid_type'],
    ['stream_options a boolean', withBody({ stream: true, stream_options: true }), 'stream_options', 'invalid_type'],
    ['include_usage a string', withBody({ stream: true, stream_options: { include_usage: 'yes' } }), 'stream_options.include_usage', 'invalid_type'],
    ['tools an object', withBody({ tools: {} }), 'tools', 'invalid_type'],
    ['tool of another type', withBody({ tools: [{ type: 'web_search' }] }), 'tools[0].type', 'invalid_value'],
    ['tool without function', withBody({ tools: [{ type: 'function' }] }), 'tools[0].function', 'missing_required_parameter'],
    [
      'tool without name',
      withBody({
        tools: [
          { type: 'function', function: { name: 'a' } },
          { type: 'function', function: {} },
        ],
      }),
      'tools[1].function.name',
      'missing_required_parameter',
    ],
    ['tool parameters an array', withBody({ tools: [{ type: 'function', function: { name: 'a', parameters: [] } }] }), 'tools[0].function.parameters', 'invalid_type'],
    ['tool_choice unknown mode', withBody({ tool_choice: 'any' }), 'tool_choice', 'invalid_value'],
    ['tool_choice required without tools', withBody({ tool_choice: 'required' }), 'tool_choice', 'invalid_value'],
    ['tool_choice a number', withBody({ tool_choice: 1 }), 'tool_choice', 'invalid_type'],
    ['tool_choice of another type', withBody({ tool_choice: { type: 'allowed_tools' } }), 'tool_choice.type', 'invalid_value'],
    ['tool_choice without name', withBody({ tool_choice: { type: 'function', function: {} } }), 'tool_choice.function.name', 'missing_required_parameter'],
    [
      'tool_choice naming an absent tool',
      withBody({ tools: [{ type: 'function', function: { name: 'a' } }], tool_choice: { type: 'function', function: { name: 'b' } } }),
      'tool_choice.function.name',
      'invalid_value',
    ],
    ['response_format a string', withBody({ response_format: 'json' }), 'response_format', 'invalid_type'],
    ['response_format without type', withBody({ response_format: {} }), 'response_format.type', 'missing_required_parameter'],
    ['response_format type a number', withBody({ response_format: { type: 1 } }), 'response_format.type', 'invalid_type'],
    ['response_format type unknown', withBody({ response_format: { type: 'xml' } }), 'response_format.type', 'invalid_value'],
    ['json_schema without json_schema', withBody({ response_format: { type: 'json_schema' } }), 'response_format.json_schema', 'missing_required_parameter'],
    ['json_schema an array', withBody({ response_format: { type: 'json_schema', json_schema: [] } }), 'response_format.json_schema', 'invalid_type'],
    [
      'json_schema without name',
      withBody({ response_format: { type: 'json_schema', json_schema: { schema: {} } } }),
      'response_format.json_schema.name',
      'missing_required_parameter',
    ],
    ['json_schema name empty', withBody({ response_format: { type: 'json_schema', json_schema: { name: ' ' } } }), 'response_format.json_schema.name', 'invalid_value'],
    [
      'json_schema schema a string',
      withBody({ response_format: { type: 'json_schema', json_schema: { name: 'n', schema: '{}' } } }),
      'response_format.json_schema.schema',
      'invalid_type',
    ],
    [
      'json_schema strict a string',
      withBody({ response_format: { type: 'json_schema', json_schema: { name: 'n', strict: 'yes' } } }),
      'response_format.json_schema.strict',
      'invalid_type',
    ],
    [
      'json_schema description a number',
      withBody({ response_format: { type: 'json_schema', json_schema: { name: 'n', description: 2 } } }),
      'response_format.json_schema.description',
      'invalid_type',
    ],
  ];

  it.each(cases)('%s', (_name, body, param, code) => {
    const err = rejection(body);
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.param).toBe(param);
    expect(err.code).toBe(code);
    expect(err.shouldRetry).toBe(false);
    expect(err.toOpenAI()).toEqual({ error: { message: err.message, type: 'invalid_request_error', param, code } });
  });
});

describe('rejection messages say what to do', () => {
  it.each([
    ['model missing', { messages: [user('hi')] }, /required.*OpenAI/],
    ['negative temperature', withBody({ temperature: -1 }), /OnDemand accepts 0 to 2/],
    ['negative presence_penalty', withBody({ presence_penalty: -0.5 }), /OnDemand accepts 0 to 2/],
    ['negative frequency_penalty', withBody({ frequency_penalty: -0.5 }), /OnDemand accepts 0 to 2/],
    ['top_p above 1', withBody({ top_p: 2 }), /OnDemand accepts 0 to 1/],
    ['n = 3', withBody({ n: 3 }), /Only n=1 is supported/],
    ['an image', withBody({ messages: [user([{ type: 'image_url', image_url: { url: 'https://x' } }])] }), /^Content parts of type "image_url" are not accepted here\.$/],
    ['unknown role', withBody({ messages: [{ role: 'bot', content: 'x' }] }), /'developer'/],
  ])('%s', (_name, body, pattern) => {
    expect(rejection(body).message).toMatch(pattern);
  });
});

describe('parseChatRequest accepts', () => {
  it('a minimal request', () => {
    expect(parseChatRequest(base)).toEqual({
      request: {
        api: 'chat',
        requestedModel: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
        params: {},
        stream: false,
      },
      includeUsage: false,
    });
  });

  it.each([
    ['developer → system', { role: 'developer', content: 'be brief' }, { role: 'system', content: 'be brief' }],
    ['system stays system', { role: 'system', content: 's' }, { role: 'system', content: 's' }],
    ['name kept', { role: 'user', content: 'x', name: 'ann' }, { role: 'user', content: 'x', name: 'ann' }],
    [
      'text parts joined with \\n',
      user([
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ]),
      { role: 'user', content: 'a\nb' },
    ],
    ['empty parts array', user([]), { role: 'user', content: '' }],
    ['system parts', { role: 'system', content: [{ type: 'text', text: 'x' }] }, { role: 'system', content: 'x' }],
    ['assistant refusal part as text', { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] }, { role: 'assistant', content: 'no' }],
    ['empty string content', user(''), { role: 'user', content: '' }],
    [
      'assistant tool calls, content null',
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }] },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get', arguments: '{"a":1}' }] },
    ],
    [
      'assistant tool calls, content absent, type omitted',
      { role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '' } }] },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'f', arguments: '' }] },
    ],
    ['assistant empty tool_calls array', { role: 'assistant', content: 'x', tool_calls: [] }, { role: 'assistant', content: 'x' }],
    ['tool result', { role: 'tool', content: [{ type: 'text', text: '42' }], tool_call_id: 'call_1' }, { role: 'tool', content: '42', toolCallId: 'call_1' }],
    [
      'legacy assistant function_call (paired by name)',
      { role: 'assistant', content: null, function_call: { name: 'get', arguments: '{}' } },
      { role: 'assistant', content: '', toolCalls: [{ id: 'get', name: 'get', arguments: '{}' }] },
    ],
    ['legacy function message → tool', { role: 'function', name: 'get', content: '42' }, { role: 'tool', name: 'get', content: '42', toolCallId: 'get' }],
  ])('message: %s', (_name, message, expected) => {
    expect(parseChatRequest(withBody({ messages: [message] })).request.messages).toEqual([expected]);
  });

  it.each([
    ['temperature', { temperature: 0.7 }, { temperature: 0.7 }],
    ['temperature bounds', { temperature: 0, top_p: 1 }, { temperature: 0, topP: 1 }],
    ['temperature 2', { temperature: 2 }, { temperature: 2 }],
    ['penalties', { presence_penalty: 0.5, frequency_penalty: 2 }, { presencePenalty: 0.5, frequencyPenalty: 2 }],
    ['max_tokens', { max_tokens: 100 }, { maxTokens: 100 }],
    ['max_completion_tokens', { max_completion_tokens: 50 }, { maxTokens: 50 }],
    ['max_completion_tokens wins', { max_tokens: 100, max_completion_tokens: 50 }, { maxTokens: 50 }],
    ['stop string', { stop: 'END' }, { stop: ['END'] }],
    ['stop array', { stop: ['a', 'b', 'c', 'd'] }, { stop: ['a', 'b', 'c', 'd'] }],
    ['stop empty array', { stop: [] }, {}],
    ['reasoning minimal', { reasoning_effort: 'minimal' }, { reasoningEffort: 'low' }],
    ['reasoning low', { reasoning_effort: 'low' }, { reasoningEffort: 'low' }],
    ['reasoning medium', { reasoning_effort: 'medium' }, { reasoningEffort: 'medium' }],
    ['reasoning high', { reasoning_effort: 'high' }, { reasoningEffort: 'max' }],
    ['reasoning xhigh (newer clients)', { reasoning_effort: 'xhigh' }, { reasoningEffort: 'max' }],
    ['reasoning none: the effort left out', { reasoning_effort: 'none' }, {}],
    [
      'nulls mean not set',
      { temperature: null, top_p: null, max_tokens: null, stop: null, n: null, reasoning_effort: null, stream: null, tools: null, tool_choice: null, stream_options: null },
      {},
    ],
    ['n = 1', { n: 1 }, {}],
  ])('params: %s', (_name, extra, params) => {
    expect(parseChatRequest(withBody(extra)).request.params).toEqual(params);
  });

  it('ignores fields real clients send', () => {
    const parsed = parseChatRequest(
      withBody({
        user: 'u-1',
        seed: 7,
        logprobs: false,
        top_logprobs: null,
        parallel_tool_calls: true,
        metadata: { a: 'b' },
        store: false,
        service_tier: 'auto',
        logit_bias: {},
        response_format: { type: 'text' },
        modalities: ['text'],
        something_new: { deep: [1] },
      }),
    );
    expect(parsed).toEqual(parseChatRequest(base));
  });

  it.each([
    ['no stream', {}, false, false],
    ['stream', { stream: true }, true, false],
    ['stream with usage', { stream: true, stream_options: { include_usage: true } }, true, true],
    ['stream, usage off', { stream: true, stream_options: { include_usage: false } }, true, false],
    ['stream, empty stream_options', { stream: true, stream_options: {} }, true, false],
    ['include_usage without stream is ignored', { stream: false, stream_options: { include_usage: true } }, false, false],
  ])('stream flags: %s', (_name, extra, stream, includeUsage) => {
    const parsed = parseChatRequest(withBody(extra));
    expect(parsed.request.stream).toBe(stream);
    expect(parsed.includeUsage).toBe(includeUsage);
  });

  const schema = { type: 'object', properties: { a: { type: 'string' } } };
  it.each([
    ['text', { type: 'text' }, undefined],
    ['null', null, undefined],
    ['json_object', { type: 'json_object' }, { type: 'json_object' }],
    [
      'json_schema, every field',
      { type: 'json_schema', json_schema: { name: 'thing', description: 'A thing', schema, strict: true } },
      { type: 'json_schema', name: 'thing', description: 'A thing', schema, strict: true },
    ],
    [
      'json_schema, nulls mean not set',
      { type: 'json_schema', json_schema: { name: 'thing', schema: null, strict: null, description: null } },
      { type: 'json_schema', name: 'thing' },
    ],
  ])('response_format: %s', (_name, responseFormat, expected) => {
    const { request } = parseChatRequest(withBody({ response_format: responseFormat }));
    if (expected === undefined) expect(request).not.toHaveProperty('responseFormat');
    else expect(request.responseFormat).toEqual(expected);
  });

  it.each([undefined, null])('no model (%s) is the default model when the gateway gives one', (model) => {
    const body = model === undefined ? { messages: [user('hi')] } : { model, messages: [user('hi')] };
    expect(parseChatRequest(body, { defaultModel: 'gpt-4o' }).request.requestedModel).toBe('gpt-4o');
    expect(parseChatRequest(withBody({ model: 'claude-3.7-sonnet' }), { defaultModel: 'gpt-4o' }).request.requestedModel).toBe('claude-3.7-sonnet');
  });

  it('keeps the model name exactly as sent', () => {
    expect(parseChatRequest(withBody({ model: ' My-Model ' })).request.requestedModel).toBe(' My-Model ');
  });

  it('tools and tool_choice', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const tools = [
      { type: 'function', function: { name: 'weather', description: 'Weather now', parameters, strict: true } },
      { type: 'function', function: { name: 'time' } },
    ];
    const { request } = parseChatRequest(withBody({ tools, tool_choice: { type: 'function', function: { name: 'time' } } }));
    expect(request.tools).toEqual([{ name: 'weather', description: 'Weather now', parameters }, { name: 'time' }]);
    expect(request.toolChoice).toEqual({ name: 'time' });
  });

  it.each(['auto', 'none', 'required'] as const)('tool_choice %s', (mode) => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    expect(parseChatRequest(withBody({ tools, tool_choice: mode })).request.toolChoice).toBe(mode);
  });

  it('an empty tools array is no tools', () => {
    const { request } = parseChatRequest(withBody({ tools: [], tool_choice: 'auto' }));
    expect(request).not.toHaveProperty('tools');
    expect(request.toolChoice).toBe('auto');
  });

  it('a full tool round trip', () => {
    const { request } = parseChatRequest(
      withBody({
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_b', type: 'function', function: { name: 'time', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_a', content: '18C' },
          { role: 'tool', tool_call_id: 'call_b', content: '12:00' },
        ],
      }),
    );
    expect(request.messages).toEqual([
      { role: 'user', content: 'weather in Paris?' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
          { id: 'call_b', name: 'time', arguments: '{}' },
        ],
      },
      { role: 'tool', content: '18C', toolCallId: 'call_a' },
      { role: 'tool', content: '12:00', toolCallId: 'call_b' },
    ]);
  });
});

describe('convertContentParts: the media seam', () => {
  it('maps image and file parts to media when accepted', () => {
    const parts = [
      { type: 'text', text: 'look' },
      { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } },
      { type: 'image_url', image_url: 'data:image/png;base64,AA==' },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,AA==', filename: 'a.pdf' } },
      { type: 'text', text: 'please' },
    ];
    expect(convertContentParts(parts, 'messages[0].content', true)).toEqual({
      text: 'look\nplease',
      media: [
        { kind: 'image', url: 'https://x/cat.png' },
        { kind: 'image', url: 'data:image/png;base64,AA==' },
        { kind: 'file', url: 'data:application/pdf;base64,AA==', name: 'a.pdf' },
      ],
    });
  });

  it.each([
    ['an audio format other than wav and mp3', { type: 'input_audio', input_audio: { data: 'AA', format: 'ogg' } }, 'p[0].input_audio.format', 'invalid_value'],
    ['an uploaded file id cannot be fetched', { type: 'file', file: { file_id: 'file-1' } }, 'p[0]', 'unsupported_content'],
    ['image without url', { type: 'image_url', image_url: {} }, 'p[0].image_url.url', 'missing_required_parameter'],
  ])('%s', (_name, part, param, code) => {
    expect(() => convertContentParts([part], 'p', true)).toThrow(expect.objectContaining({ status: 400, param, code }));
  });

  it('passes media through parseChatRequest when the option is on', () => {
    const body = withBody({ messages: [user([{ type: 'image_url', image_url: { url: 'https://x/a.png' } }])] });
    expect(parseChatRequest(body, { acceptMedia: true }).request.messages).toEqual([{ role: 'user', content: '', media: [{ kind: 'image', url: 'https://x/a.png' }] }]);
  });
});
