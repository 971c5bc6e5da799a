/** MAX_MESSAGES and MAX_MESSAGE_CHARS on the gateway's own request: the same 400 whichever API the body came in. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import { checkRequestLimits, MessageOrigins } from '../core/limits.js';
import type { GatewayRequest } from '../core/types.js';
import { parseMessagesRequest } from './anthropic/request.js';
import { parseCompletionsRequest } from './completions/request.js';
import { parseCountTokens, parseGenerateContent } from './gemini/request.js';
import { parseChatRequest } from './openai-chat/request.js';
import { parseResponsesRequest } from './responses/request.js';

const limits = { maxMessages: 3, maxMessageChars: 10 };
type Parse = (body: unknown, origins: MessageOrigins) => GatewayRequest;
const user = (content: string) => ({ role: 'user', content });
const users = (n: number): { role: string; content: string }[] => Array.from({ length: n }, (_, i) => user(`m${i}`));

const chat: Parse = (body, origins) => parseChatRequest(body, { origins }).request;
const responses: Parse = (body, origins) => parseResponsesRequest(body, { origins }).request;
const messages: Parse = (body, origins) => parseMessagesRequest(body, { origins });
const completions: Parse = (body, origins) => parseCompletionsRequest(body, { origins }).request;
const gemini: Parse = (body, origins) => parseGenerateContent(body, { model: 'm', stream: false }, { origins }).request;
const geminiCount: Parse = (body, origins) => parseCountTokens(body, 'm', origins);
const turn = (role: string, ...parts: unknown[]) => ({ role, parts });
const turns = (n: number) => Array.from({ length: n }, (_, i) => turn('user', { text: `m${i}` }));

/** the error checkRequestLimits throws for this body, or null */
function refusal(parse: Parse, body: Record<string, unknown>): { code: string | null; param: string | null } | null {
  const origins = new MessageOrigins();
  const req = parse({ model: 'm', max_tokens: 5, ...body }, origins);
  try {
    checkRequestLimits(req, limits, origins);
    return null;
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    expect(err.status).toBe(400);
    return { code: err.code, param: err.param };
  }
}

describe('request limits on the parsed request', () => {
  it.each<[string, Parse, Record<string, unknown>, { code: string; param: string } | null]>([
    ['chat: at the limit', chat, { messages: users(3) }, null],
    ['chat: one message more', chat, { messages: users(4) }, { code: 'too_many_messages', param: 'messages' }],
    ['chat: a long message', chat, { messages: [user('ok'), user('x'.repeat(11))] }, { code: 'message_too_large', param: 'messages[1].content' }],
    [
      'chat: text parts counted together',
      chat,
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'y'.repeat(6) },
              { type: 'text', text: 'y'.repeat(6) },
            ],
          },
        ],
      },
      { code: 'message_too_large', param: 'messages[0].content' },
    ],
    ['responses: input items at the limit', responses, { input: users(3) }, null],
    ['responses: one input item more', responses, { input: users(4) }, { code: 'too_many_messages', param: 'input' }],
    [
      'responses: a call joining its turn still counts as an item',
      responses,
      {
        input: [
          user('a'),
          { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
          { type: 'function_call', call_id: 'c2', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'x' },
        ],
        tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      },
      { code: 'too_many_messages', param: 'input' },
    ],
    ['responses: a long item', responses, { input: [user('ok'), user('ok'), user('x'.repeat(11))] }, { code: 'message_too_large', param: 'input[2].content' }],
    ['responses: long instructions', responses, { instructions: 'i'.repeat(11), input: 'hi' }, { code: 'message_too_large', param: 'instructions' }],
    ['responses: a string input', responses, { input: 's'.repeat(11) }, { code: 'message_too_large', param: 'input' }],
    ['anthropic: the system field is not a message', messages, { system: 'be brief', messages: users(3) }, null],
    ['anthropic: one message more', messages, { messages: users(4) }, { code: 'too_many_messages', param: 'messages' }],
    [
      'anthropic: a long message after a system prompt',
      messages,
      { system: 's', messages: [user('ok'), user('x'.repeat(11))] },
      { code: 'message_too_large', param: 'messages[1].content' },
    ],
    [
      'anthropic: tool results of one turn are one entry',
      messages,
      {
        messages: [
          user('a'),
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 't1', name: 'f', input: {} },
              { type: 'tool_use', id: 't2', name: 'f', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't1', content: '1' },
              { type: 'tool_result', tool_use_id: 't2', content: '2' },
            ],
          },
        ],
      },
      null,
    ],
    ['completions: a short prompt', completions, { prompt: 'p'.repeat(10) }, null],
    ['completions: a long prompt', completions, { prompt: 'p'.repeat(11) }, { code: 'message_too_large', param: 'prompt' }],
    ['gemini: contents at the limit, the system instruction aside', gemini, { systemInstruction: 'be brief', contents: turns(3) }, null],
    ['gemini: one content more', gemini, { contents: turns(4) }, { code: 'too_many_messages', param: 'contents' }],
    [
      'gemini: text parts of one turn counted together',
      gemini,
      { contents: [turn('user', { text: 'ok' }), turn('user', { text: 'y'.repeat(6) }, { text: 'y'.repeat(6) })] },
      { code: 'message_too_large', param: 'contents[1].parts' },
    ],
    [
      'gemini: a long system instruction',
      gemini,
      { systemInstruction: { parts: [{ text: 's'.repeat(11) }] }, contents: turns(1) },
      { code: 'message_too_large', param: 'systemInstruction' },
    ],
    [
      'gemini: function responses of one turn are one content',
      gemini,
      {
        contents: [
          turn('user', { text: 'a' }),
          turn('model', { functionCall: { name: 'f', args: {} } }, { functionCall: { name: 'g', args: {} } }),
          turn('user', { functionResponse: { name: 'f', response: { output: '1' } } }, { functionResponse: { name: 'g', response: { output: '2' } } }),
        ],
      },
      null,
    ],
    [
      'gemini: a long function result',
      gemini,
      { contents: [turn('user', { functionResponse: { name: 'f', response: { output: 'r'.repeat(11) } } })] },
      { code: 'message_too_large', param: 'contents[0].parts' },
    ],
    ['gemini countTokens: contents', geminiCount, { contents: turns(4) }, { code: 'too_many_messages', param: 'contents' }],
    ['gemini countTokens: a whole request', geminiCount, { generateContentRequest: { contents: turns(4) } }, { code: 'too_many_messages', param: 'contents' }],
  ])('%s', (_name, parse, body, expected) => {
    expect(refusal(parse, body)).toEqual(expected);
  });

  it('without origins the request itself is counted and named as messages', () => {
    const req: GatewayRequest = { api: 'chat', requestedModel: 'm', stream: false, params: {}, messages: users(4).map((m) => ({ role: 'user', content: m.content })) };
    expect(() => checkRequestLimits(req, limits)).toThrow(/Too many messages: 4/);
  });
});
