/** LangChain and the Vercel AI SDK, as their users configure them, against the gateway. */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AIMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simUsage, THINKING_TEXT } from '../src/simulator/index.js';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const answer = (endpointId: string, said: string) => `Hello from the OnDemand simulator (${endpointId}). You said: ${said}`;

/** the usage LangChain attaches to a message (its declared type does not resolve under our strict settings) */
const usageOf = (m: unknown): { input_tokens?: number; output_tokens?: number } | undefined =>
  (m as { usage_metadata?: { input_tokens?: number; output_tokens?: number } }).usage_metadata;

describe('LangChain ChatOpenAI', () => {
  const model = () => new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: CLIENT_KEY, configuration: { baseURL: stack.baseURL }, maxRetries: 0 });

  it('invoke: content and usage metadata', async () => {
    const res = await model().invoke([new SystemMessage('be brief'), new HumanMessage('first'), new AIMessage('ok'), new HumanMessage('second')]);
    expect(res.content).toBe(answer('predefined-openai-gpt4o-mini', 'second'));
    expect(usageOf(res)?.output_tokens).toBe(simUsage('', answer('predefined-openai-gpt4o-mini', 'second')).outputTokens);
    expect(usageOf(res)?.input_tokens).toBeGreaterThan(0);
  });

  it('stream: chunks concatenate to the answer, usage arrives (streamUsage is on by default)', async () => {
    let text = '';
    let outputTokens = 0;
    for await (const chunk of await model().stream([new HumanMessage('streamed')])) {
      text += typeof chunk.content === 'string' ? chunk.content : '';
      outputTokens += usageOf(chunk)?.output_tokens ?? 0;
    }
    const expected = answer('predefined-openai-gpt4o-mini', 'streamed');
    expect(text).toBe(expected);
    expect(outputTokens).toBe(simUsage('', expected).outputTokens);
  });
});

describe('Vercel AI SDK with @ai-sdk/openai-compatible', () => {
  const provider = () => createOpenAICompatible({ name: 'ondemand', baseURL: stack.baseURL, apiKey: CLIENT_KEY, includeUsage: true });

  it('generateText: text, reasoning and usage', async () => {
    const res = await generateText({ model: provider().chatModel('deepseek-r1'), prompt: 'think', maxRetries: 0 });
    const expected = answer('predefined-deepseek-r1', 'think');
    expect(res.text).toBe(expected);
    expect(res.reasoningText).toBe(THINKING_TEXT);
    expect(res.usage.outputTokens).toBe(simUsage('', expected).outputTokens);
    expect(res.finishReason).toBe('stop');
  });

  it('streamText: text deltas, reasoning and usage', async () => {
    const result = streamText({ model: provider().chatModel('deepseek-r1'), prompt: 'stream it', maxRetries: 0 });
    let text = '';
    for await (const part of result.textStream) text += part;
    const expected = answer('predefined-deepseek-r1', 'stream it');
    expect(text).toBe(expected);
    expect(await result.reasoningText).toBe(THINKING_TEXT);
    expect((await result.usage).outputTokens).toBe(simUsage('', expected).outputTokens);
    expect(await result.finishReason).toBe('stop');
  });

  it('surfaces a mid-stream upstream failure as an error, not a clean finish', async () => {
    stack.sim.setAllKeysBehavior({ kind: 'stream_error', afterDeltas: 1, errorCode: 'model_error', message: 'boom' });
    const errors: unknown[] = [];
    const result = streamText({
      model: provider().chatModel('gpt-4o'),
      prompt: 'a b c d',
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    for await (const _ of result.textStream) {
      // drain
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(String((errors[0] as Error).message ?? errors[0])).toMatch(/boom/);
  });
});
