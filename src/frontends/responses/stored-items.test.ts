/** The pure parts of stored state: owners, input items as listed, cursor pages, metadata, history before input. */
import { describe, expect, it } from 'vitest';
import { presentedKeyDigest } from '../../http/auth.js';
import { parseResponsesRequest } from './request.js';
import { inputItems, ownerOf, pageOf, readMetadata, readPageQuery, type PageQuery } from './stored-items.js';
import { withHistory } from './stored-state.js';

describe('ownerOf', () => {
  it('is a hash of the key, stable, apart from the key digest, one shared owner without a key', () => {
    const a = ownerOf(presentedKeyDigest('sk-a-0123456789'));
    expect(a).toMatch(/^o:[0-9a-f]{32}$/);
    expect(ownerOf(presentedKeyDigest('sk-a-0123456789'))).toBe(a);
    expect(ownerOf(presentedKeyDigest('sk-b-0123456789'))).not.toBe(a);
    expect(presentedKeyDigest('sk-a-0123456789').toString('hex')).not.toContain(a.slice(2));
    expect(ownerOf(undefined)).toBe('o:anonymous');
  });
});

describe('inputItems', () => {
  it('a string is one user message with an input_text part', () => {
    const [item] = inputItems('hi');
    expect(item).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }], status: 'completed' });
    expect(item?.id).toMatch(/^msg_[0-9a-f]{48}$/);
  });

  it('keeps what the client sent, adds type, ids and status, and renames an id already taken', () => {
    const items = inputItems(
      [
        { role: 'assistant', content: 'ok', id: 'msg_mine' },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: '1' },
        { type: 'reasoning', summary: [], id: 'rs_taken' },
      ],
      new Set(['rs_taken']),
    );
    expect(items[0]).toEqual({ type: 'message', role: 'assistant', id: 'msg_mine', content: [{ type: 'output_text', text: 'ok', annotations: [] }], status: 'completed' });
    expect(items[1]).toMatchObject({ type: 'function_call', call_id: 'c1', status: 'completed' });
    expect(items[1]?.id).toMatch(/^fc_/);
    expect(items[2]?.id).toMatch(/^fco_/);
    expect(items[3]?.id).toMatch(/^rs_/);
    expect(items[3]?.id).not.toBe('rs_taken');
  });
});

describe('pageOf', () => {
  const items = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
  const ids = (q: Partial<PageQuery>) => {
    const p = pageOf(items, { limit: 20, order: 'asc', ...q });
    return [p.data.map((i) => i.id).join(''), p.first_id, p.last_id, p.has_more];
  };
  it.each<[string, Partial<PageQuery>, unknown[]]>([
    ['all, ascending', {}, ['abcde', 'a', 'e', false]],
    ['all, descending', { order: 'desc' }, ['edcba', 'e', 'a', false]],
    ['a first page', { limit: 2 }, ['ab', 'a', 'b', true]],
    ['after a cursor', { limit: 2, after: 'b' }, ['cd', 'c', 'd', true]],
    ['the last page', { limit: 2, after: 'd' }, ['e', 'e', 'e', false]],
    ['after the last: empty', { after: 'e' }, ['', null, null, false]],
    ['descending after a cursor', { order: 'desc', limit: 2, after: 'd' }, ['cb', 'c', 'b', true]],
    ['just before a cursor', { limit: 2, before: 'd' }, ['bc', 'b', 'c', true]],
    ['before, reaching the start', { limit: 5, before: 'c' }, ['ab', 'a', 'b', false]],
    ['between two cursors', { after: 'a', before: 'e', limit: 2 }, ['bc', 'b', 'c', true]],
  ])('%s', (_name, q, want) => expect(ids(q)).toEqual(want));

  it('a cursor not in the list is a 400', () => {
    expect(() => pageOf(items, { limit: 2, order: 'asc', after: 'zz' })).toThrow(expect.objectContaining({ status: 400, param: 'after' }));
  });
});

describe('readPageQuery', () => {
  it.each<[unknown, PageQuery | string]>([
    [{}, { limit: 20, order: 'desc' }],
    [
      { limit: '5', order: 'asc', after: 'x', include: ['message.input_image.image_url'] },
      { limit: 5, order: 'asc', after: 'x' },
    ],
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ order: 'up' }, 'order'],
  ])('%j', (query, want) => {
    if (typeof want === 'string') expect(() => readPageQuery(query)).toThrow(expect.objectContaining({ status: 400, param: want }));
    else expect(readPageQuery(query)).toEqual(want);
  });
});

describe('readMetadata', () => {
  it('takes up to 16 string values with short keys, and refuses anything else', () => {
    expect(readMetadata({ a: 'b' })).toEqual({ a: 'b' });
    expect(readMetadata(undefined)).toEqual({});
    expect(() => readMetadata({ a: 1 })).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => readMetadata(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])))).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => readMetadata({ ['k'.repeat(65)]: 'v' })).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => readMetadata({ k: 'v'.repeat(513) })).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('withHistory', () => {
  const parsed = (body: Record<string, unknown>) => parseResponsesRequest({ model: 'm', ...body });

  it('puts the earlier turns first, after this request’s instructions, and marks them seen', () => {
    const p = parsed({ instructions: 'Be brief.', input: 'two' });
    const history = inputItems([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'ok' },
    ]);
    const { request, seen } = withHistory(p, history, inputItems(p.input));
    expect(request.messages.map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'],
      ['user', 'one'],
      ['assistant', 'ok'],
      ['user', 'two'],
    ]);
    expect(request.messages.filter((m) => seen?.has(m)).map((m) => m.content)).toEqual(['one', 'ok']);
  });

  it('names a tool result after its call in the history', () => {
    const p = parsed({ input: [{ type: 'function_call_output', call_id: 'c1', output: '21' }] });
    const history = inputItems([
      { role: 'user', content: 'weather?' },
      { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{}' },
    ]);
    const { request } = withHistory(p, history, inputItems(p.input));
    expect(request.messages.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'c1', name: 'get_weather', content: '21' });
  });

  it('marks nothing seen when the input merges into the last turn of the history', () => {
    const p = parsed({ input: [{ type: 'function_call', call_id: 'c2', name: 'f', arguments: '{}' }] });
    const history = inputItems([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'calling' },
    ]);
    const { request, seen } = withHistory(p, history, inputItems(p.input));
    expect(request.messages).toHaveLength(2);
    expect(seen).toBeUndefined();
  });

  it('a history of reasoning alone adds no message', () => {
    const p = parsed({ input: 'x' });
    const { request, seen } = withHistory(p, inputItems([{ type: 'reasoning', summary: [] }]), inputItems(p.input));
    expect(request.messages).toEqual([{ role: 'user', content: 'x' }]);
    expect(seen).toBeUndefined();
  });
});
