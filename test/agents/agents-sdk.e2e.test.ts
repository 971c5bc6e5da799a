/**
 * The OpenAI Agents SDK (@openai/agents) through the gateway: an agent with one function tool, run to its final
 * output and run streamed, on the Responses API (the SDK's default) and on Chat Completions. The simulated model
 * calls the tool with the arguments the prompt names (SIM_TOOL_CALL), the SDK executes it, sends its result back,
 * and the final output quotes that result; the tool's own record and the simulator's queries show the round trip.
 */
import { Agent, Runner, setTracingDisabled, tool } from '@openai/agents';
import { OpenAIProvider } from '@openai/agents-openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TOOL_RESULT_PREFIX } from '../../src/simulator/tools.js';
import { CLIENT_KEY, startStack, type Stack } from '../harness.js';
import { queries, requestLines } from './agent-run.js';

setTracingDisabled(true);

let stack: Stack;
let logsFrom = 0;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack.close());
beforeEach(() => {
  stack.sim.reset();
  logsFrom = stack.logs().length;
});

/** An agent whose tool records each city it was asked about and answers a forecast naming it. */
function weatherAgent(): { agent: Agent; asked: string[] } {
  const asked: string[] = [];
  const getWeather = tool({
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      asked.push(city);
      return `sunny in ${city}, 21 C`;
    },
  });
  return { agent: new Agent({ name: 'Forecaster', instructions: 'Answer with the forecast.', model: 'gpt-4o', tools: [getWeather] }), asked };
}

const runner = (useResponses: boolean): Runner =>
  new Runner({ modelProvider: new OpenAIProvider({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, useResponses }), tracingDisabled: true });

const PROMPT = 'What is the weather? SIM_TOOL_CALL get_weather {"city":"Lisbon \\"Alfama\\""}';
const CITY = 'Lisbon "Alfama"';

function expectRoundTrip(path: string, asked: string[], finalOutput: unknown): void {
  expect(asked).toEqual([CITY]);
  expect(finalOutput).toBe(`${TOOL_RESULT_PREFIX}sunny in ${CITY}, 21 C`);
  const lines = requestLines(stack, logsFrom);
  expect(lines.map((l) => [l.path, l.status])).toEqual([
    [path, 200],
    [path, 200],
  ]);
  expect(queries(stack).at(-1)).toContain(`sunny in ${CITY}, 21 C`);
}

describe('OpenAI Agents SDK through the gateway', () => {
  it.each([
    ['Responses', true, '/v1/responses'],
    ['Chat Completions', false, '/v1/chat/completions'],
  ] as const)('%s: run() calls the function tool and answers with its result', async (_api, useResponses, path) => {
    const { agent, asked } = weatherAgent();
    const result = await runner(useResponses).run(agent, PROMPT);
    expectRoundTrip(path, asked, result.finalOutput);
  });

  it.each([
    ['Responses', true, '/v1/responses'],
    ['Chat Completions', false, '/v1/chat/completions'],
  ] as const)('%s: a streamed run gives the call, its output and the answer as events', async (_api, useResponses, path) => {
    const { agent, asked } = weatherAgent();
    const result = await runner(useResponses).run(agent, PROMPT, { stream: true });
    const items: string[] = [];
    for await (const event of result) if (event.type === 'run_item_stream_event') items.push(event.name);
    await result.completed;
    expect(items).toEqual(['tool_called', 'tool_output', 'message_output_created']);
    expectRoundTrip(path, asked, result.finalOutput);
  });
});
