/**
 * Stored responses, previous_response_id and the Conversations API through the openai SDK, against the simulator:
 * a continued response carries the earlier turns (streamed and not), a stored response reads back with its input
 * items, another client key sees nothing (404, or previous_response_not_found), DELETE and `store: false` leave
 * nothing to read, and a conversation carries its items into a response made in it, then lists the new turn.
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY, startStack, type Stack } from './harness.js';

const OTHER_PRIVATE_KEY = 'sk-test-other-private-key-0123456789';
const TEAM_KEY = 'sk-test-team-named-key-0123456789';

let stack: Stack;
let client: OpenAI;
let other: OpenAI;
let team: OpenAI;
beforeAll(async () => {
  stack = await startStack({
    env: { PRIVATE_KEY: `${CLIENT_KEY},${OTHER_PRIVATE_KEY}`, CLIENT_KEYS: JSON.stringify([{ name: 'team', key: TEAM_KEY }]) },
  });
  client = new OpenAI({ apiKey: CLIENT_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  other = new OpenAI({ apiKey: OTHER_PRIVATE_KEY, baseURL: stack.baseURL, maxRetries: 0 });
  team = new OpenAI({ apiKey: TEAM_KEY, baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(async () => stack.close());
beforeEach(() => stack.sim.reset());

const lastQuery = (): string => (stack.sim.stats().lastQuery as { query: string }).query;
const said = (text: string): string => `Hello from the OnDemand simulator (predefined-openai-gpt4o). You said: ${text}`;

/** The error a call fails with (status and OpenAI's error body). */
async function failure(call: () => Promise<unknown>): Promise<{ status: number | undefined; error: unknown }> {
  try {
    await call();
  } catch (err) {
    const e = err as { status?: number; error?: unknown };
    return { status: e.status, error: e.error };
  }
  throw new Error('the call succeeded');
}

const previousNotFound = (id: string) => ({
  status: 400,
  error: { message: `Previous response with id '${id}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' },
});

describe('previous_response_id', () => {
  it('carries the whole earlier conversation into the next turn, not streamed', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', instructions: 'Be brief.', input: 'My name is Ada.' });
    expect((first as unknown as { store: boolean }).store).toBe(true);
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is my name?' });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(said('What is my name?'));
    // the earlier turn's input and output, in order; a previous response's instructions are not carried over
    expect(lastQuery()).toContain(`<user>\nMy name is Ada.\n</user>\n\n<assistant>\n${said('My name is Ada.')}\n</assistant>\n\n<user>\nWhat is my name?\n</user>`);
    expect(lastQuery()).not.toContain('Be brief.');
    // and a third turn carries both
    await client.responses.create({ model: 'gpt-4o', previous_response_id: second.id, input: 'Thanks.' });
    expect(lastQuery()).toContain(
      `<user>\nMy name is Ada.\n</user>\n\n<assistant>\n${said('My name is Ada.')}\n</assistant>\n\n<user>\nWhat is my name?\n</user>\n\n<assistant>\n${said('What is my name?')}\n</assistant>\n\n<user>\nThanks.\n</user>`,
    );
  });

  it('carries it streamed, and a streamed turn is stored for the next one', async () => {
    const first = await client.responses.stream({ model: 'gpt-4o', input: 'The code word is kiwi.' }).finalResponse();
    const stream = client.responses.stream({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?' });
    const second = await stream.finalResponse();
    expect(second.output_text).toBe('The code word is kiwi.');
    expect(second.previous_response_id).toBe(first.id);
    const third = await client.responses.create({ model: 'gpt-4o', previous_response_id: second.id, input: 'Say it again.' });
    expect(third.status).toBe('completed');
    expect(lastQuery()).toContain('<assistant>\nThe code word is kiwi.\n</assistant>');
  });

  it('carries tool calls and their results', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        strict: false,
      },
    ];
    const first = await client.responses.create({ model: 'gpt-4o', input: 'Weather in Paris?', tools });
    const call = first.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error(`no function call in ${JSON.stringify(first.output)}`);
    await client.responses.create({
      model: 'gpt-4o',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
      tools,
    });
    expect(lastQuery()).toContain(`<tool_call id="${call.call_id}" name="get_weather">`);
    expect(lastQuery()).toContain(`<tool_result id="${call.call_id}" name="get_weather">\n{"temp":21}\n</tool_result>`);
  });

  it('an unknown id gets previous_response_not_found', async () => {
    expect(await failure(() => client.responses.create({ model: 'gpt-4o', previous_response_id: 'resp_unknown', input: 'x' }))).toEqual(previousNotFound('resp_unknown'));
  });

  it('refuses previous_response_id together with conversation', async () => {
    const f = await failure(() => client.responses.create({ model: 'gpt-4o', previous_response_id: 'resp_x', conversation: 'conv_x', input: 'x' }));
    expect(f.status).toBe(400);
  });
});

describe('stored responses', () => {
  it('reads a response back with its input items', async () => {
    const created = await client.responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'user', content: 'first' },
        { role: 'user', content: 'second' },
      ],
      metadata: { run: '7' },
    });
    const got = await client.responses.retrieve(created.id);
    expect(got).toEqual(created);
    const items = await client.responses.inputItems.list(created.id);
    // newest first by default, as OpenAI lists them
    expect(items.data.map((i) => (i.type === 'message' ? i.content : null))).toEqual([[{ type: 'input_text', text: 'second' }], [{ type: 'input_text', text: 'first' }]]);
    expect(items.data.every((i) => typeof i.id === 'string' && i.id.startsWith('msg_'))).toBe(true);
    const asc = await client.responses.inputItems.list(created.id, { order: 'asc', limit: 1 });
    expect(asc.data).toHaveLength(1);
    expect(asc.has_more).toBe(true);
    expect(asc.data[0]?.id).toBe(items.data[1]?.id);
    // the SDK's pager walks the rest
    const all: string[] = [];
    for await (const item of client.responses.inputItems.list(created.id, { order: 'asc', limit: 1 })) all.push(item.id);
    expect(all).toEqual([items.data[1]?.id, items.data[0]?.id]);
  });

  it("lists a chained response's earlier turns as its input items", async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'one' });
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'two' });
    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((i) => i.type === 'message' && i.role)).toEqual(['user', 'assistant', 'user']);
    expect(items.data[1]?.id).toBe(first.output[0]?.id);
  });

  it('is visible only to the client key that made it: every other key gets 404', async () => {
    const created = await client.responses.create({ model: 'gpt-4o', input: 'mine' });
    for (const someone of [other, team]) {
      const f = await failure(() => someone.responses.retrieve(created.id));
      expect(f).toEqual({ status: 404, error: { message: `Response with id '${created.id}' not found.`, type: 'invalid_request_error', param: null, code: null } });
      expect((await failure(() => someone.responses.inputItems.list(created.id))).status).toBe(404);
      expect((await failure(() => someone.responses.delete(created.id))).status).toBe(404);
      expect(await failure(() => someone.responses.create({ model: 'gpt-4o', previous_response_id: created.id, input: 'x' }))).toEqual(previousNotFound(created.id));
    }
    // and it is still there for its owner
    expect((await client.responses.retrieve(created.id)).id).toBe(created.id);
    // the named key's own responses are its own
    const theirs = await team.responses.create({ model: 'gpt-4o', input: 'team' });
    expect((await team.responses.retrieve(theirs.id)).id).toBe(theirs.id);
    expect((await failure(() => client.responses.retrieve(theirs.id))).status).toBe(404);
  });

  it('DELETE removes it: then 404, and it can no longer be continued', async () => {
    const created = await client.responses.create({ model: 'gpt-4o', input: 'delete me' });
    const res = await request(`${stack.baseURL}/responses/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ id: created.id, object: 'response.deleted', deleted: true });
    expect((await failure(() => client.responses.retrieve(created.id))).status).toBe(404);
    expect((await failure(() => client.responses.delete(created.id))).status).toBe(404);
    expect(await failure(() => client.responses.create({ model: 'gpt-4o', previous_response_id: created.id, input: 'x' }))).toEqual(previousNotFound(created.id));
  });

  it('store: false keeps nothing', async () => {
    const created = await client.responses.create({ model: 'gpt-4o', input: 'forget me', store: false });
    expect((created as unknown as { store: boolean }).store).toBe(false);
    expect((await failure(() => client.responses.retrieve(created.id))).status).toBe(404);
    expect(await failure(() => client.responses.create({ model: 'gpt-4o', previous_response_id: created.id, input: 'x' }))).toEqual(previousNotFound(created.id));
    const streamed = await client.responses.stream({ model: 'gpt-4o', input: 'forget me too', store: false }).finalResponse();
    expect((await failure(() => client.responses.retrieve(streamed.id))).status).toBe(404);
  });

  it('a continued turn with store: false still reads the earlier turns', async () => {
    const first = await client.responses.create({ model: 'gpt-4o', input: 'The code word is plum.' });
    const second = await client.responses.create({ model: 'gpt-4o', previous_response_id: first.id, input: 'What is the code word?', store: false });
    expect(second.output_text).toBe('The code word is plum.');
  });
});

describe('conversations', () => {
  it('a conversation created with an item carries it into a response made in it, then lists the new turn', async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'The code word is kiwi.' }], metadata: { topic: 'fruit' } });
    expect(conv).toMatchObject({ object: 'conversation', metadata: { topic: 'fruit' } });
    expect(conv.id).toMatch(/^conv_/);
    const res = await client.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'What is the code word?' });
    expect(res.output_text).toBe('The code word is kiwi.');
    expect(res.conversation).toEqual({ id: conv.id });
    expect(lastQuery()).toContain('<user>\nThe code word is kiwi.\n</user>\n\n<user>\nWhat is the code word?\n</user>');
    const items = await client.conversations.items.list(conv.id, { order: 'asc' });
    expect(items.data.map((i) => [i.type, i.type === 'message' ? i.role : null])).toEqual([
      ['message', 'user'],
      ['message', 'user'],
      ['message', 'assistant'],
    ]);
    expect(items.data[2]?.id).toBe(res.output[0]?.id);
    // the next turn in the conversation (streamed) carries all of it
    const next = await client.responses.stream({ model: 'gpt-4o', conversation: { id: conv.id }, input: 'And now?' }).finalResponse();
    expect(next.status).toBe('completed');
    expect(lastQuery()).toContain('<assistant>\nThe code word is kiwi.\n</assistant>\n\n<user>\nAnd now?\n</user>');
    expect((await client.conversations.items.list(conv.id)).data).toHaveLength(5);
  });

  it('retrieve, update metadata, add, get and delete items, delete', async () => {
    const conv = await client.conversations.create({});
    expect(await client.conversations.retrieve(conv.id)).toEqual(conv);
    expect((await client.conversations.update(conv.id, { metadata: { a: 'b' } })).metadata).toEqual({ a: 'b' });
    const added = await client.conversations.items.create(conv.id, {
      items: [
        { type: 'message', role: 'user', content: 'hello' },
        { type: 'message', role: 'assistant', content: 'hi' },
      ],
    });
    expect(added.object).toBe('list');
    expect(added.data).toHaveLength(2);
    const [hello, hi] = added.data;
    const helloId = hello?.id;
    if (helloId === undefined || hi?.id === undefined) throw new Error('items missing');
    expect(await client.conversations.items.retrieve(helloId, { conversation_id: conv.id })).toEqual(hello);
    expect(hi).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hi', annotations: [] }] });
    const after = await client.conversations.items.delete(helloId, { conversation_id: conv.id });
    expect(after.id).toBe(conv.id);
    expect((await client.conversations.items.list(conv.id)).data.map((i) => i.id)).toEqual([hi.id]);
    expect((await failure(() => client.conversations.items.retrieve(helloId, { conversation_id: conv.id }))).status).toBe(404);
    const deleted = await client.conversations.delete(conv.id);
    expect(deleted).toEqual({ id: conv.id, object: 'conversation.deleted', deleted: true });
    expect((await failure(() => client.conversations.retrieve(conv.id))).status).toBe(404);
    expect((await failure(() => client.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'x' }))).status).toBe(404);
  });

  it('is visible only to the client key that made it', async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'secret' }] });
    for (const someone of [other, team]) {
      const f = await failure(() => someone.conversations.retrieve(conv.id));
      expect(f).toEqual({ status: 404, error: { message: `Conversation with id '${conv.id}' not found.`, type: 'invalid_request_error', param: null, code: null } });
      expect((await failure(() => someone.conversations.items.list(conv.id))).status).toBe(404);
      expect((await failure(() => someone.conversations.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'x' }] }))).status).toBe(404);
      expect((await failure(() => someone.conversations.update(conv.id, { metadata: {} }))).status).toBe(404);
      expect((await failure(() => someone.conversations.delete(conv.id))).status).toBe(404);
      expect((await failure(() => someone.responses.create({ model: 'gpt-4o', conversation: conv.id, input: 'x' }))).status).toBe(404);
    }
    expect((await client.conversations.items.list(conv.id)).data).toHaveLength(1);
  });

  it('refuses invalid items and more than 20 at a time', async () => {
    expect((await failure(() => client.conversations.create({ items: [{ type: 'message', role: 'robot', content: 'x' } as never] }))).error).toMatchObject({
      param: 'items[0].role',
    });
    const many = Array.from({ length: 21 }, () => ({ type: 'message' as const, role: 'user' as const, content: 'x' }));
    expect((await failure(() => client.conversations.create({ items: many }))).status).toBe(400);
  });
});

describe('metrics and the admin view', () => {
  it('counts stored responses and conversations', async () => {
    await client.responses.create({ model: 'gpt-4o', input: 'count me' });
    const res = await request(`${stack.url}/admin/stored`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    const body = (await res.body.json()) as { responses: number; conversations: number; bytes: number; retentionDays: number };
    expect(res.statusCode).toBe(200);
    expect(body.responses).toBeGreaterThan(0);
    expect(body.bytes).toBeGreaterThan(0);
    expect(body.retentionDays).toBe(30);
    const metrics = await (await request(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).body.text();
    expect(metrics).toMatch(/^gateway_stored_responses [1-9]/m);
    expect(metrics).toMatch(/^gateway_stored_writes_total\{kind="response",outcome="ok"\} [1-9]/m);
  });
});
