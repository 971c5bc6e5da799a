import { describe, expect, it } from 'vitest';
import { createModelSettings } from './model-settings.js';
import { createModelRouter } from '../ondemand/models.js';
import { DEFAULT_AUTO_ROUTES } from './auto-route.js';
import { GatewayError } from './errors.js';
import { createModelPlanner, parseFallbacks } from './model-plan.js';
import type { GatewayRequest } from './types.js';

describe('parseFallbacks', () => {
  it('reads model → chain, a string as a chain of one', () => {
    expect(parseFallbacks('{"a":["b"," c "],"d":"e"}')).toEqual({ a: ['b', 'c'], d: ['e'] });
    expect(parseFallbacks(' ')).toEqual({});
  });
  it.each(['[]', 'x', '{"a":[1]}', '{"a":[""]}'])('refuses %s', (raw) => {
    expect(() => parseFallbacks(raw)).toThrow();
  });
});

describe('createModelPlanner', () => {
  const router = createModelRouter({ defaultModel: 'gpt-4o', modelMap: { ghost: 'predefined-ghost' } });
  const strictRouter = createModelRouter({ defaultModel: 'gpt-4o', strict: true });
  const req = (model: string, extra: Partial<GatewayRequest> = {}): GatewayRequest => ({
    api: 'chat',
    requestedModel: model,
    stream: false,
    params: {},
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });
  const planner = createModelPlanner({
    router,
    defaultModel: 'gpt-4o',
    fallbacks: {
      'claude-sonnet-4-6': ['claude-3.7-sonnet', 'no-such-model', 'predefined-claude-sonnet-4-6', 'gpt-4o'],
      'gpt-4o': ['gpt-4.1'],
      ghost: ['gpt-4o-mini'],
      'predefined-xai-grok4': ['gpt-4o'],
    },
    autoModelName: 'auto',
    autoRules: DEFAULT_AUTO_ROUTES,
    settings: () => createModelSettings({ 'gpt-4.1': { system_prompt: 'Be brief.', params: { temperature: 0.1 } } }),
    isInactive: (ep) => ep === 'predefined-claude-3.7-sonnet',
  });
  const models = (r: GatewayRequest) => planner.plan(r).map((s) => `${s.model}=${s.endpointId}`);

  it.each([
    // unknown fallbacks and duplicate endpoints left out; the inactive one skipped
    ['claude-sonnet-4-6', ['claude-sonnet-4-6=predefined-claude-sonnet-4-6', 'gpt-4o=predefined-openai-gpt4o']],
    ['Claude-Sonnet-4-6', ['claude-sonnet-4-6=predefined-claude-sonnet-4-6', 'gpt-4o=predefined-openai-gpt4o']],
    ['gpt-4o', ['gpt-4o=predefined-openai-gpt4o', 'gpt-4.1=predefined-openai-gpt4.1']],
    // a raw endpointId has the chain keyed by that endpointId (none here)
    ['predefined-openai-gpt4o', ['predefined-openai-gpt4o=predefined-openai-gpt4o']],
    ['predefined-xai-grok4', ['predefined-xai-grok4=predefined-xai-grok4', 'gpt-4o=predefined-openai-gpt4o']],
    // an unknown name is the default model, with the default's chain
    ['something-unknown', ['gpt-4o=predefined-openai-gpt4o', 'gpt-4.1=predefined-openai-gpt4.1']],
    ['ghost', ['ghost=predefined-ghost', 'gpt-4o-mini=predefined-openai-gpt4o-mini']],
    // an inactive endpoint with nothing after it is still tried
    ['claude-3.7-sonnet', ['claude-3.7-sonnet=predefined-claude-3.7-sonnet']],
  ])('%s → %j', (model, expected) => {
    expect(models(req(model))).toEqual(expected);
  });

  it('auto picks by the rules, then follows that model’s chain', () => {
    expect(models(req('auto', { tools: [{ name: 'f' }] }))).toEqual(['gpt-4.1=predefined-openai-gpt4.1']);
    expect(models(req('AUTO', { messages: [{ role: 'user', content: 'x', media: [{ kind: 'image', url: 'https://e.x/a.png' }] }] }))).toEqual([
      'gpt-4o=predefined-openai-gpt4o',
      'gpt-4.1=predefined-openai-gpt4.1',
    ]);
  });

  it('applies each model’s own settings', () => {
    const [first, second] = planner.plan(req('gpt-4o'));
    expect(first!.request.messages).toHaveLength(1);
    expect(second!.request.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(second!.request.params.temperature).toBe(0.1);
  });

  it('strict routing: an unknown first model is a 404', () => {
    const strict = createModelPlanner({ router: strictRouter, defaultModel: 'gpt-4o' });
    expect(() => strict.plan(req('nope'))).toThrow(GatewayError);
    expect(() => strict.plan(req('nope'))).toThrow(/does not exist/);
  });
});
