/** The Gemini request parser as a table: what each body becomes, and what each refusal names. */
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../core/errors.js';
import { parseCountTokens, parseGenerateContent, toJsonSchema } from './request.js';
import { readModelAction } from './route.js';

const init = { model: 'gemini-2.5-flash', stream: false };
const user = (text: string) => ({ role: 'user', parts: [{ text }] });
const parse = (body: Record<string, unknown>) => parseGenerateContent({ contents: [user('hi')], ...body }, init);

function refusal(body: unknown): GatewayError {
  try {
    parseGenerateContent(body, init);
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected a 400');
}

describe('parseGenerateContent', () => {
  it.each([
    ['text turns, a missing role is user', { contents: [{ parts: [{ text: 'a' }, { text: 'b' }] }] }, [{ role: 'user', content: 'a\nb' }]],
    [
      'snake_case names',
      { contents: [user('q')], system_instruction: { parts: [{ text: 'S' }] } },
      [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'q' },
      ],
    ],
    [
      'model turns: thoughts skipped, calls kept with ids',
      { contents: [user('q'), { role: 'model', parts: [{ text: 'hm', thought: true }, { text: 'ok' }, { functionCall: { name: 'f', args: { a: 1 } } }] }] },
      [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'ok', toolCalls: [{ id: 'call_1_2', name: 'f', arguments: '{"a":1}' }] },
      ],
    ],
    [
      'a functionResponse without id pairs with the call by name; {output} is its text',
      {
        contents: [
          { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }, { functionCall: { id: 'x', name: 'g', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'g', response: { result: 2 } } }, { functionResponse: { name: 'f', response: { output: 'done' } } }] },
        ],
      },
      [
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_0_0', name: 'f', arguments: '{}' },
            { id: 'x', name: 'g', arguments: '{}' },
          ],
        },
        { role: 'tool', toolCallId: 'x', name: 'g', content: '{"result":2}' },
        { role: 'tool', toolCallId: 'call_0_0', name: 'f', content: 'done' },
      ],
    ],
    [
      'inline data and an http fileData become media',
      {
        contents: [
          { parts: [{ text: 'see' }, { inlineData: { mimeType: 'image/png', data: 'AAAA' } }, { fileData: { fileUri: 'https://x.test/a.pdf', mimeType: 'application/pdf' } }] },
        ],
      },
      [
        {
          role: 'user',
          content: 'see',
          media: [
            { kind: 'image', url: 'data:image/png;base64,AAAA', mimeType: 'image/png' },
            { kind: 'file', url: 'https://x.test/a.pdf', mimeType: 'application/pdf' },
          ],
        },
      ],
    ],
  ])('%s', (_name, body, messages) => {
    expect(parseGenerateContent(body, init).request.messages).toEqual(messages);
  });

  it.each([
    ['sampling', { temperature: 0.5, topP: 0.9, maxOutputTokens: 100, stopSequences: ['X'] }, { temperature: 0.5, topP: 0.9, maxTokens: 100, stop: ['X'] }],
    ['thinking budget 8192', { thinkingConfig: { thinkingBudget: 8192 } }, { reasoningEffort: 'medium' }],
    ['thinking budget 0', { thinkingConfig: { thinkingBudget: 0 } }, {}],
    ['thinking budget -1 (dynamic)', { thinkingConfig: { thinkingBudget: -1 } }, { reasoningEffort: 'medium' }],
    ['thinking level HIGH', { thinkingConfig: { thinkingLevel: 'HIGH' } }, { reasoningEffort: 'max' }],
    ['thinking level low', { thinkingConfig: { thinkingLevel: 'low' } }, { reasoningEffort: 'low' }],
  ])('generationConfig: %s', (_name, generationConfig, params) => {
    expect(parse({ generationConfig }).request.params).toEqual(params);
  });

  it('includeThoughts, structured output, tools, tool config, web search', () => {
    const { request, includeThoughts } = parse({
      generationConfig: {
        thinkingConfig: { includeThoughts: true },
        responseMimeType: 'application/json',
        responseSchema: { type: 'OBJECT', properties: { n: { type: 'INTEGER', nullable: true } }, propertyOrdering: ['n'] },
      },
      tools: [
        {
          functionDeclarations: [
            { name: 'f', parameters: { type: 'OBJECT' } },
            { name: 'g', parametersJsonSchema: { type: 'object' } },
          ],
        },
        { googleSearch: {} },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['g'] } },
    });
    expect(includeThoughts).toBe(true);
    expect(request.responseFormat).toEqual({ type: 'json_schema', name: 'response', schema: { type: 'object', properties: { n: { type: ['integer', 'null'] } } } });
    expect(request.tools).toEqual([{ name: 'g', parameters: { type: 'object' } }]);
    expect(request.toolChoice).toEqual({ name: 'g' });
    expect(request.plugins).toEqual({ webSearch: { mode: 'offered' } });
    expect(request.api).toBe('gemini');
    expect(parse({ generationConfig: { responseMimeType: 'application/json' } }).request.responseFormat).toEqual({ type: 'json_object' });
    expect(parse({ tools: [{ functionDeclarations: [{ name: 'f' }] }], toolConfig: { functionCallingConfig: { mode: 'NONE' } } }).request.toolChoice).toBe('none');
    expect(parse({ tools: [{ functionDeclarations: [{ name: 'f' }, { name: 'g' }] }], toolConfig: { functionCallingConfig: { mode: 'ANY' } } }).request.toolChoice).toBe(
      'required',
    );
  });

  it.each([
    ['no contents', {}, 'contents', 'missing_required_parameter'],
    ['empty contents', { contents: [] }, 'contents', 'empty_array'],
    ['a bad role', { contents: [{ role: 'system', parts: [{ text: 'x' }] }] }, 'contents[0].role', 'invalid_value'],
    ['an empty part', { contents: [{ parts: [{}] }] }, 'contents[0].parts[0]', 'invalid_value'],
    ['code execution parts', { contents: [{ parts: [{ executableCode: {} }] }] }, 'contents[0].parts[0].executableCode', 'unsupported_value'],
    [
      'a Files API uri',
      { contents: [{ parts: [{ fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc' } }] }] },
      'contents[0].parts[0].fileData.fileUri',
      'unsupported_value',
    ],
    ['inline data without a type', { contents: [{ parts: [{ inlineData: { data: 'AA' } }] }] }, 'contents[0].parts[0].inlineData.mimeType', 'missing_required_parameter'],
    ['candidateCount 2', { contents: [user('x')], generationConfig: { candidateCount: 2 } }, 'generationConfig.candidateCount', 'unsupported_value'],
    ['a schema without JSON', { contents: [user('x')], generationConfig: { responseSchema: { type: 'OBJECT' } } }, 'generationConfig.responseMimeType', 'invalid_value'],
    ['an enum answer', { contents: [user('x')], generationConfig: { responseMimeType: 'text/x.enum' } }, 'generationConfig.responseMimeType', 'unsupported_value'],
    ['image output', { contents: [user('x')], generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } }, 'generationConfig.responseModalities', 'unsupported_value'],
    ['code execution tool', { contents: [user('x')], tools: [{ codeExecution: {} }] }, 'tools[0].codeExecution', 'unsupported_value'],
    [
      'an unknown allowed name',
      { contents: [user('x')], tools: [{ functionDeclarations: [{ name: 'f' }] }], toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['h'] } } },
      'toolConfig.functionCallingConfig.allowedFunctionNames',
      'invalid_value',
    ],
    ['cached content', { contents: [user('x')], cachedContent: 'cachedContents/1' }, 'cachedContent', 'unsupported_value'],
  ])('refuses %s', (_name, body, param, code) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect({ param: err.param, code: err.code }).toEqual({ param, code });
  });
});

describe('countTokens, schemas, paths', () => {
  it('countTokens takes contents or a whole generateContentRequest', () => {
    expect(parseCountTokens({ contents: [user('a')] }, 'm').messages).toEqual([{ role: 'user', content: 'a' }]);
    const full = parseCountTokens({ generateContentRequest: { contents: [user('a')], systemInstruction: { parts: [{ text: 'S' }] } } }, 'm');
    expect(full.messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('toJsonSchema lowers types through items and anyOf', () => {
    expect(toJsonSchema({ type: 'ARRAY', items: { anyOf: [{ type: 'STRING' }, { type: 'NUMBER', nullable: true }] } })).toEqual({
      type: 'array',
      items: { anyOf: [{ type: 'string' }, { type: ['number', 'null'] }] },
    });
  });

  it.each([
    ['gemini-2.5-flash:generateContent', { model: 'gemini-2.5-flash', action: 'generateContent' }],
    ['predefined-openai-gpt4.1:streamGenerateContent', { model: 'predefined-openai-gpt4.1', action: 'streamGenerateContent' }],
    ['m:countTokens', { model: 'm', action: 'countTokens' }],
  ])('readModelAction %s', (segment, expected) => {
    expect(readModelAction(segment)).toEqual(expected);
  });

  it.each(['gemini-2.5-flash', ':generateContent', 'm:embedContent'])('readModelAction refuses %s with a 404', (segment) => {
    expect(() => readModelAction(segment)).toThrow(expect.objectContaining({ status: 404 }));
  });
});
