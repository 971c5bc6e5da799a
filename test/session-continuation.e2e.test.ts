/**
 * SESSION_CONTINUATION=true, through the openai SDK against the simulator (which keeps each session's turns): a
 * turn that continues a stored response sends only its new input into the OnDemand session that answered before,
 * and the model recalls the earlier turn from the session's memory; it replays the whole conversation into a
 * fresh session when the session's key cannot serve, when the session is gone, and when the same turn is
 * continued twice. A conversation continues its session until someone edits its items.
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simTokens } from '../src/simulator/index.js';
import { CLIENT_KEY, fingerprintKey, startStack, type Stack } from './harness.js';

let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  // no pre-created sessions: every session the simulator sees was made for one turn
  stack = await startStack({ env: { SESSION_CONTINUATION: 'true', SESSION_POOL_SIZE: '0' } });
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(async () => {
  stack.sim.reset();
  for (const key of stack.config.ONDEMAND_APIKEYS) await admin('POST', `/admin/keys/${fingerprintKey(key)}/enable`);
});

async function admin(method: 'POST' | 'GET', path: string): Promise<unknown> {
  const res = await request(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  return res.body.json();
}

const queries = (): string[] => stack.sim.stats().queryBodies.map((b) => (b as { query: string }).query);
/** the raw key that sent the last query (the simulator counts per key) */
const keyOfLastQuery = (before: Record<string, { queries: number }>): string => {
  const now = stack.sim.stats().byKey;
  const key = Object.keys(now).find((k) => (now[k]?.queries ?? 0) > (before[k]?.queries ?? 0));
  if (key === undefined) throw new Error('no query was made');
  return key;
};

describe('previous_response_id with SESSION_CONTINUATION', () => {
  it('sends only the new turn into the session that answered before, and the model recalls the earlier turn', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is kiwi. Say ok.' });
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' });
    expect(queries()).toEqual(['The code word is kiwi. Say ok.', 'What is the code word?']);
    expect(stack.sim.stats().sessionsReused).toBe(1);
    expect(stack.sim.stats().crossKeyQueries).toBe(0);
    // recalled from the session's memory: the query did not carry it
    expect(second.output_text).toBe('The code word is kiwi.');
    // the upstream reports the input tokens of what it was sent
    expect(second.usage?.input_tokens).toBe(simTokens('What is the code word?'));
    // a third turn, streamed, continues the same session
    const third = await client.responses.stream({ model: 'gpt-4o', previous_response_id: second.id, input: 'What was the code word again?' }).finalResponse();
    expect(queries()[2]).toBe('What was the code word again?');
    expect(third.output_text).toBe('The code word is kiwi.');
    expect(stack.sim.stats().sessionsReused).toBe(2);
  });

  it('sends the new turn with this request’s instructions', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is fig.' });
    await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, instructions: 'Answer in one word.', input: 'What is the code word?' });
    const q = queries()[1] ?? '';
    expect(q).toContain('<system>\nAnswer in one word.\n</system>\n\n<user>\nWhat is the code word?\n</user>');
    expect(q).not.toContain('fig');
  });

  it('continues a turn in its session once: a second turn from the same point replays', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is lime.' });
    await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'The code word is now pear.' });
    const branch = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' });
    // the branch must not see the other branch's turn: it is replayed into a fresh session
    expect(branch.output_text).toBe('The code word is lime.');
    expect(queries()[2]).toContain('<user>\nThe code word is lime.\n</user>');
    expect(stack.sim.stats().sessionsReused).toBe(1);
  });

  it("replays into a fresh session on another key when the session's key cannot serve", async () => {
    const before = stack.sim.stats().byKey;
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is plum.' });
    const key = keyOfLastQuery(before);
    await admin('POST', `/admin/keys/${fingerprintKey(key)}/disable`);
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' });
    expect(second.output_text).toBe('The code word is plum.');
    expect(queries()[1]).toContain('<user>\nThe code word is plum.\n</user>');
    expect(stack.sim.stats().sessionsReused).toBe(0);
    expect(stack.sim.stats().crossKeyQueries).toBe(0);
  });

  it('replays when the session is gone upstream', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is cherry.' });
    stack.sim.forgetSessions();
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' });
    expect(second.output_text).toBe('The code word is cherry.');
    // the continued query failed (404), then the whole conversation went into a fresh session
    expect(queries().slice(1)).toEqual(['What is the code word?', expect.stringContaining('<user>\nThe code word is cherry.\n</user>')]);
  });
});

describe('conversations with SESSION_CONTINUATION', () => {
  it('continues the session turn after turn, and replays once someone edits the items', async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'The code word is kiwi.' }] });
    // the conversation's first turn has no session yet: replayed
    await client.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'Say ok.' });
    expect(queries()[0]).toContain('<user>\nThe code word is kiwi.\n</user>');
    const second = await client.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'What is the code word?' });
    expect(queries()[1]).toBe('What is the code word?');
    expect(second.output_text).toBe('The code word is kiwi.');
    await client.conversations.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'Forget that: the code word is mango.' }] });
    const third = await client.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'What is the code word?' });
    expect(queries()[2]).toContain('<user>\nForget that: the code word is mango.\n</user>');
    expect(third.output_text).toBe('The code word is mango.');
  });
});

describe('the metrics', () => {
  it('count continued and replayed turns', async () => {
    const metrics = await (await request(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).body.text();
    expect(metrics).toMatch(/^gateway_session_continuations_total\{outcome="continued"\} [1-9]/m);
    expect(metrics).toMatch(/^gateway_session_continuations_total\{outcome="replayed"\} [1-9]/m);
  });
});
