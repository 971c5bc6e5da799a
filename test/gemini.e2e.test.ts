/**
 * The Gemini API front end through the official @google/genai SDK (the version Gemini CLI bundles): whole and
 * streamed answers with usage, thoughts, function calling round trips, structured output, countTokens, the model
 * list, and the error shape on every error path; plus `?key=` kept out of the log.
 */
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type Content, type FunctionDeclaration } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens } from '../src/core/tokens.js';
import { simUsage, THINKING_TEXT } from '../src/simulator/index.js';
import { TOOL_RESULT_PREFIX } from '../src/simulator/tools.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
let ai: GoogleGenAI;
beforeAll(async () => {
  stack = await startStack({ env: { MAX_MESSAGES: '8' } });
  ai = new GoogleGenAI({ apiKey: CLIENT_KEY, httpOptions: { baseUrl: stack.url } });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const MODEL = 'gemini-2.5-flash';
const ENDPOINT = 'predefined-gemini-2.5-flash';
const answer = (endpoint: string, said: string) => `Hello from the OnDemand simulator (${endpoint}). You said: ${said}`;
const lastBody = () => stack.sim.stats().lastQuery as { query: string; modelConfigs?: Record<string, unknown>; reasoningEffort?: string };
const usageOf = (query: string, text: string) => {
  const u = simUsage(query, text);
  return { promptTokenCount: u.inputTokens, candidatesTokenCount: u.outputTokens, totalTokenCount: u.totalTokens };
};

async function raw(path: string, init: { method?: string; key?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  if (init.key !== null) headers['x-goog-api-key'] = init.key ?? CLIENT_KEY;
  const res = await fetch(`${stack.url}${path}`, {
    method: init.method ?? 'POST',
    headers,
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('generateContent', () => {
  it('the simulator answer, usage, modelVersion, parameters upstream', async () => {
    const res = await ai.models.generateContent({
      model: MODEL,
      contents: 'Say hi',
      config: { temperature: 0.3, topP: 0.9, stopSequences: ['END'], maxOutputTokens: 64 },
    });
    const text = answer(ENDPOINT, 'Say hi');
    expect(res.text).toBe(text);
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(res.candidates?.[0]?.content).toEqual({ role: 'model', parts: [{ text }] });
    expect(res.usageMetadata).toEqual(usageOf('Say hi', text));
    expect(res.modelVersion).toBe(MODEL);
    expect(res.responseId).toMatch(/^[\w-]{16}$/);
    expect(lastBody().modelConfigs).toEqual({ temperature: 0.3, topP: 0.9, stopSequences: ['END'] });
  });

  it('systemInstruction and model turns become the transcript', async () => {
    const contents: Content[] = [
      { role: 'user', parts: [{ text: 'first' }] },
      { role: 'model', parts: [{ text: 'ok' }] },
      { role: 'user', parts: [{ text: 'second' }] },
    ];
    const res = await ai.models.generateContent({ model: MODEL, contents, config: { systemInstruction: 'Be terse.' } });
    expect(res.text).toBe(answer(ENDPOINT, 'second'));
    expect(lastBody().query).toContain('<system>\nBe terse.\n</system>\n\n<user>\nfirst\n</user>\n\n<assistant>\nok\n</assistant>\n\n<user>\nsecond\n</user>');
  });

  it('thinkingConfig: an effort upstream, thought parts only when includeThoughts, thoughts counted', async () => {
    const text = answer(ENDPOINT, 'think');
    const shown = await ai.models.generateContent({ model: MODEL, contents: 'think', config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } } });
    expect(lastBody().reasoningEffort).toBe('medium');
    expect(shown.candidates?.[0]?.content?.parts).toEqual([{ text: THINKING_TEXT, thought: true }, { text }]);
    const thoughts = countTokens(THINKING_TEXT);
    const u = simUsage('think', text);
    expect(shown.usageMetadata).toEqual({
      promptTokenCount: u.inputTokens,
      candidatesTokenCount: u.outputTokens - thoughts,
      thoughtsTokenCount: thoughts,
      totalTokenCount: u.totalTokens,
    });
    const hidden = await ai.models.generateContent({ model: MODEL, contents: 'think', config: { thinkingConfig: { thinkingLevel: 'HIGH' as never } } });
    expect(lastBody().reasoningEffort).toBe('max');
    expect(hidden.candidates?.[0]?.content?.parts).toEqual([{ text }]);
    await ai.models.generateContent({ model: MODEL, contents: 'think', config: { thinkingConfig: { thinkingBudget: 0 } } });
    expect(lastBody().reasoningEffort).toBeUndefined();
  });

  it('responseMimeType application/json with a responseSchema: the JSON value', async () => {
    const res = await ai.models.generateContent({
      model: MODEL,
      contents: 'a city',
      config: { responseMimeType: 'application/json', responseSchema: { type: 'OBJECT' as never, properties: { name: { type: 'STRING' as never } }, required: ['name'] } },
    });
    expect(JSON.parse(res.text ?? '')).toEqual({ name: expect.any(String) });
    expect(lastBody().query).toContain('"type":"object"');
  });

  it('an inline image goes through the media upload', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex').toString('base64');
    const res = await ai.models.generateContent({
      model: MODEL,
      contents: [{ role: 'user', parts: [{ text: 'what is this' }, { inlineData: { mimeType: 'image/png', data: png } }] }],
    });
    expect(res.candidates?.[0]?.finishReason).toBe('STOP');
    expect(stack.sim.stats().uploads.map((u) => u.plugins)).toEqual([['plugin-1713958591']]);
    expect(lastBody().query).toContain('<attachment name="image-1.png" type="image/png">');
  });
});

describe('generateContentStream', () => {
  it('the same answer in chunks, then finishReason and usage', async () => {
    stack.sim.setOptions({ deltas: 8 });
    const stream = await ai.models.generateContentStream({ model: 'deepseek-r1', contents: 'stream me please', config: { thinkingConfig: { includeThoughts: true } } });
    let text = '';
    let thoughts = '';
    let chunks = 0;
    let last: Awaited<ReturnType<typeof ai.models.generateContent>> | undefined;
    for await (const chunk of stream) {
      chunks++;
      last = chunk;
      for (const part of chunk.candidates?.[0]?.content?.parts ?? []) {
        if (part.thought === true) thoughts += part.text ?? '';
        else text += part.text ?? '';
      }
    }
    const expected = answer('predefined-deepseek-r1', 'stream me please');
    expect(text).toBe(expected);
    expect(thoughts).toBe(THINKING_TEXT);
    expect(chunks).toBeGreaterThan(3);
    expect(last?.candidates?.[0]?.finishReason).toBe('STOP');
    const u = simUsage('stream me please', expected);
    expect(last?.usageMetadata?.promptTokenCount).toBe(u.inputTokens);
    expect(last?.usageMetadata?.totalTokenCount).toBe(u.totalTokens);
    expect(last?.modelVersion).toBe('deepseek-r1');
  });

  it('without alt=sse: a JSON array holding the whole answer', async () => {
    const res = await raw(`/v1beta/models/${MODEL}:streamGenerateContent`, { body: { contents: [{ parts: [{ text: 'array please' }] }] } });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> } }> }>;
    expect(body).toHaveLength(1);
    expect(body[0]?.candidates[0]?.content.parts[0]?.text).toBe(answer(ENDPOINT, 'array please'));
  });
});

const weather: FunctionDeclaration = {
  name: 'get_weather',
  description: 'Current weather',
  parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('function calling', () => {
  it('round trip: functionCall with id and args, the functionResponse back, the answer', async () => {
    const contents: Content[] = [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }];
    const config = { tools: [{ functionDeclarations: [weather] }] };
    const first = await ai.models.generateContent({ model: MODEL, contents, config });
    const call = first.functionCalls?.[0];
    expect(first.functionCalls).toHaveLength(1);
    expect(call).toMatchObject({ name: 'get_weather', args: { city: 'city-value' } });
    expect(call?.id).toMatch(/^call_/);
    expect(first.candidates?.[0]?.finishReason).toBe('STOP');
    contents.push(first.candidates?.[0]?.content as Content, {
      role: 'user',
      parts: [{ functionResponse: { id: call?.id ?? '', name: 'get_weather', response: { output: 'sunny, 21 C' } } }],
    });
    const second = await ai.models.generateContent({ model: MODEL, contents, config });
    expect(second.text).toBe(`${TOOL_RESULT_PREFIX}sunny, 21 C`);
    expect(lastBody().query).toContain(`<tool_result id="${call?.id}" name="get_weather">\nsunny, 21 C\n</tool_result>`);
  });

  it('streamed: the call arrives as one functionCall part; mode NONE answers in text', async () => {
    const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'Weather in Oslo?', config: { tools: [{ functionDeclarations: [weather] }] } });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    expect(calls).toMatchObject([{ name: 'get_weather', args: { city: 'city-value' } }]);
    const none = await ai.models.generateContent({
      model: MODEL,
      contents: 'Weather in Oslo?',
      config: { tools: [{ functionDeclarations: [weather] }], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } },
    });
    expect(none.functionCalls).toBeUndefined();
  });
});

describe('countTokens and models', () => {
  it('countTokens counts the query the request becomes', async () => {
    const res = await ai.models.countTokens({ model: MODEL, contents: 'count these words' });
    expect(res.totalTokens).toBe(countTokens('count these words'));
  });

  it('models.list and models.get', async () => {
    const pager = await ai.models.list();
    const names = pager.page.map((m) => m.name);
    expect(names).toContain('models/gemini-2.5-pro');
    const one = await ai.models.get({ model: 'gemini-2.5-pro' });
    expect(one.supportedActions ?? (one as { supportedGenerationMethods?: string[] }).supportedGenerationMethods).toContain('generateContent');
  });
});

describe('errors in Gemini shape', () => {
  const expectError = (res: { status: number; text: string }, code: number, status: string) => {
    expect(res.status).toBe(code);
    const body = JSON.parse(res.text) as { error: { code: number; status: string; message: string } };
    expect(body.error).toMatchObject({ code, status });
    return body.error;
  };

  it('401 without a key names x-goog-api-key; a wrong key is refused', async () => {
    const missing = expectError(await raw(`/v1beta/models/${MODEL}:generateContent`, { key: null, body: { contents: [] } }), 401, 'UNAUTHENTICATED');
    expect(missing.message).toContain('x-goog-api-key');
    expectError(await raw(`/v1beta/models/${MODEL}:generateContent`, { key: 'wrong-key', body: {} }), 401, 'UNAUTHENTICATED');
  });

  it('400 from the SDK as an ApiError; candidateCount > 1 refused', async () => {
    const err = await ai.models.generateContent({ model: MODEL, contents: 'x', config: { candidateCount: 2 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain('candidateCount');
  });

  it('404 for an unknown method and an unknown path; 413 for a body too large; 400 for too many turns', async () => {
    expectError(await raw(`/v1beta/models/${MODEL}:embedContent`, { body: {} }), 404, 'NOT_FOUND');
    expectError(await raw('/v1beta/files', { method: 'GET' }), 404, 'NOT_FOUND');
    expectError(await raw('/v1beta/models/no-such-model-at-all', { method: 'GET' }), 404, 'NOT_FOUND');
    expectError(await raw(`/v1beta/models/${MODEL}:generateContent`, { body: 'x'.repeat(stack.config.BODY_LIMIT_BYTES + 10) }), 413, 'INVALID_ARGUMENT');
    const turns = Array.from({ length: 9 }, () => ({ role: 'user', parts: [{ text: 'hi' }] }));
    expectError(await raw(`/v1beta/models/${MODEL}:generateContent`, { body: { contents: turns } }), 400, 'INVALID_ARGUMENT');
  });

  it('a failure after the stream started: a last data frame with the Gemini error, no finishReason', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 2, errorCode: 'model_error', message: 'the model fell over' });
    const res = await raw(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, { body: { contents: [{ parts: [{ text: 'one two three four' }] }] } });
    expect(res.status).toBe(200);
    const frames = res.text
      .split('\n\n')
      .filter((f) => f.trim() !== '')
      .map((f) => JSON.parse(f.trim().slice('data: '.length)) as Record<string, unknown>);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.at(-1)).toMatchObject({ error: { message: expect.stringContaining('the model fell over') } });
    expect(JSON.stringify(frames)).not.toContain('finishReason');
  });
});

describe('?key= in the URL', () => {
  it('authenticates, and the key reaches no log line', async () => {
    const secretUrlKey = CLIENT_KEY;
    const res = await raw(`/v1beta/models/${MODEL}:generateContent?key=${encodeURIComponent(secretUrlKey)}`, {
      key: null,
      body: { contents: [{ parts: [{ text: 'by query key' }] }] },
    });
    expect(res.status).toBe(200);
    const bad = await raw(`/v1beta/models/${MODEL}:generateContent?key=query-key-9f8e7d6c5b4a3210`, { key: null, body: {} });
    expect(bad.status).toBe(401);
    expect(stack.logs()).toContain('"status":401');
    expect(stack.logs()).not.toContain('query-key-9f8e7d6c5b4a3210');
    expect(stack.logs()).not.toContain(secretUrlKey);
  });
});

// last: the 429 puts every upstream key in cooldown
describe('upstream rate limit', () => {
  it('an upstream failure is a Gemini error with its status; a 429 says when to retry', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'http', status: 429, retryAfterSec: 7 });
    const res = await raw(`/v1beta/models/${MODEL}:generateContent`, { body: { contents: [{ parts: [{ text: 'hi' }] }] } });
    const error = JSON.parse(res.text) as { error: { code: number; status: string; details?: Array<Record<string, unknown>> } };
    expect(error.error.code).toBe(res.status);
    expect(res.status).toBe(429);
    expect(error.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(error.error.details?.[0]).toMatchObject({ '@type': 'type.googleapis.com/google.rpc.RetryInfo' });
  });
});
