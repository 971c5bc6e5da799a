import { describe, expect, it } from 'vitest';
import { chooseAutoModel, DEFAULT_AUTO_ROUTES, estimatePromptTokens, parseAutoRoutes } from './auto-route.js';
import type { GatewayRequest, MediaPart } from './types.js';

const image: MediaPart = { kind: 'image', url: 'https://example.com/a.png' };
const pdf: MediaPart = { kind: 'file', url: 'data:application/pdf;base64,JVBERi0=' };
const long = 'x'.repeat(400_000); // ~100k tokens by the chars/4 estimate

function req(o: { media?: MediaPart[]; tools?: boolean; toolChoice?: 'none'; effort?: boolean; text?: string }): GatewayRequest {
  const r: GatewayRequest = {
    api: 'chat',
    requestedModel: 'auto',
    stream: false,
    params: o.effort ? { reasoningEffort: 'medium' } : {},
    messages: [{ role: 'user', content: o.text ?? 'hi', ...(o.media ? { media: o.media } : {}) }],
  };
  if (o.tools) r.tools = [{ name: 'f' }];
  if (o.toolChoice) r.toolChoice = o.toolChoice;
  return r;
}

describe('chooseAutoModel with the default rules', () => {
  it.each([
    ['plain text', req({}), 'gpt-4o-mini', -1],
    ['an image', req({ media: [image] }), 'gpt-4o', 1],
    ['an image in a long prompt', req({ media: [image], text: long }), 'gemini-2.5-pro', 0],
    ['a long prompt', req({ text: long }), 'gemini-2.5-pro', 2],
    ['just under the threshold', req({ text: 'x'.repeat(399_996) }), 'gpt-4o-mini', -1],
    ['reasoning_effort', req({ effort: true }), 'o3-mini', 3],
    ['reasoning_effort and tools', req({ effort: true, tools: true }), 'o3-mini', 3],
    ['tools', req({ tools: true }), 'gpt-4.1', 4],
    ['tools with tool_choice none', req({ tools: true, toolChoice: 'none' }), 'gpt-4o-mini', -1],
    ['a PDF only (files are text to every model)', req({ media: [pdf] }), 'gpt-4o-mini', -1],
    ['an image and tools', req({ media: [image], tools: true }), 'gpt-4o', 1],
  ])('%s → %s', (_name, r, model, rule) => {
    expect(chooseAutoModel(r, DEFAULT_AUTO_ROUTES, 'gpt-4o-mini')).toEqual({ model, rule });
  });
});

describe('chooseAutoModel with custom rules', () => {
  const rules = parseAutoRoutes(
    '[{"when":["files","tools"],"model":"claude-sonnet-4-6"},{"when":"long_context","minTokens":10,"model":"gemini-2.5-flash"},{"when":"files","model":"gpt-4.1"}]',
  );
  it.each([
    [req({ media: [pdf], tools: true }), 'claude-sonnet-4-6'],
    [req({ media: [pdf] }), 'gpt-4.1'],
    [req({ text: 'x'.repeat(40) }), 'gemini-2.5-flash'],
    [req({ text: 'x'.repeat(36) }), 'dflt'],
    [req({ media: [image] }), 'dflt'],
  ])('%#', (r, model) => {
    expect(chooseAutoModel(r, rules, 'dflt').model).toBe(model);
  });
  it('[] turns every rule off', () => {
    expect(chooseAutoModel(req({ media: [image] }), parseAutoRoutes('[]'), 'dflt')).toEqual({ model: 'dflt', rule: -1 });
  });
});

describe('parseAutoRoutes', () => {
  it('empty gives the defaults', () => {
    expect(parseAutoRoutes('')).toEqual(DEFAULT_AUTO_ROUTES);
  });
  it.each([
    ['{}', /array/],
    ['[1]', /rule 0: expected an object/],
    ['[{"when":"pictures","model":"x"}]', /rule 0: "when"/],
    ['[{"when":[],"model":"x"}]', /rule 0: "when"/],
    ['[{"when":"tools"}]', /rule 0: "model"/],
    ['[{"when":"tools","model":"x","minTokens":0}]', /minTokens/],
    ['nope', /JSON/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseAutoRoutes(raw)).toThrow(message);
  });
});

describe('estimatePromptTokens', () => {
  it('counts messages, tool calls and tool specs at four characters a token', () => {
    const r = req({ text: 'abcdefgh', tools: true });
    r.messages.push({ role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'ab', arguments: 'cd' }] });
    // 8 + 4 + ('f' + '{}') = 15 chars → 4 tokens
    expect(estimatePromptTokens(r)).toBe(4);
  });
});
