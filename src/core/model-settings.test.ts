import { describe, expect, it } from 'vitest';
import type { GatewayRequest } from './types.js';
import { applyModelSetting, createModelSettings, parseModelSettings, parseModelSettingsEnv } from './model-settings.js';

const base: GatewayRequest = { api: 'chat', requestedModel: 'gpt-4o', stream: false, params: { temperature: 1 }, messages: [{ role: 'user', content: 'hi' }] };

describe('parseModelSettings', () => {
  it('reads params, a system prompt and its mode', () => {
    const s = parseModelSettingsEnv(
      '{"gpt-4o":{"params":{"temperature":0.2,"max_tokens":100,"stop":["END"],"reasoning_effort":"high"},"system_prompt":"Be brief.","system_prompt_mode":"if_absent"}}',
    );
    expect(s['gpt-4o']).toEqual({
      params: { temperature: 0.2, max_tokens: 100, stop: ['END'], reasoning_effort: 'high' },
      system_prompt: 'Be brief.',
      system_prompt_mode: 'if_absent',
    });
    expect(parseModelSettingsEnv('')).toEqual({});
    expect(parseModelSettings(undefined)).toEqual({});
  });
  it.each([
    ['{"a":{"params":{"temperature":3}}}', /a\.params\.temperature/],
    ['{"a":{"params":{"topP":1}}}', /a\.params/],
    ['{"a":{"system":"x"}}', /a/],
    ['{"a":{"params":{"stop":["1","2","3","4","5"]}}}', /stop/],
    ['[1]', /root|expected/],
    ['x', /not valid JSON/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseModelSettingsEnv(raw)).toThrow(message);
  });
});

describe('createModelSettings + applyModelSetting', () => {
  const settings = createModelSettings(
    { '*': { params: { max_tokens: 500, top_p: 0.9 } }, 'GPT-4o': { params: { temperature: 0.2, presence_penalty: 1 }, system_prompt: 'env prompt' } },
    { 'gpt-4o': { params: { temperature: 0.3, frequency_penalty: 0.5, reasoning_effort: 'minimal' }, system_prompt: 'file prompt' } },
  );

  it('the file layer wins per model, "*" sits under every model, names compare normalised', () => {
    expect(settings.get(' gpt-4o ')).toEqual({
      params: { max_tokens: 500, top_p: 0.9, temperature: 0.3, frequency_penalty: 0.5, reasoning_effort: 'minimal' },
      system_prompt: 'file prompt',
    });
    expect(settings.get('claude-4-sonnet')).toEqual({ params: { max_tokens: 500, top_p: 0.9 } });
    expect(settings.get(undefined, null, 'gpt-4o')?.system_prompt).toBe('file prompt');
    expect(createModelSettings({}).get('x')).toBeUndefined();
  });

  it('fills only what the client left unset, and prepends the system prompt', () => {
    const out = applyModelSetting(base, settings.get('gpt-4o'));
    expect(out.params).toEqual({ temperature: 1, maxTokens: 500, topP: 0.9, frequencyPenalty: 0.5, reasoningEffort: 'low' });
    expect(out.messages).toEqual([
      { role: 'system', content: 'file prompt' },
      { role: 'user', content: 'hi' },
    ]);
    expect(base.messages).toHaveLength(1); // not mutated
    expect(applyModelSetting(base, undefined)).toBe(base);
  });

  it('if_absent leaves a client system prompt alone', () => {
    const withSystem = { ...base, messages: [{ role: 'system' as const, content: 'mine' }, ...base.messages] };
    expect(applyModelSetting(withSystem, { system_prompt: 'op', system_prompt_mode: 'if_absent' }).messages).toHaveLength(2);
    expect(applyModelSetting(base, { system_prompt: 'op', system_prompt_mode: 'if_absent' }).messages[0]?.content).toBe('op');
    expect(applyModelSetting(withSystem, { system_prompt: 'op' }).messages.map((m) => m.content)).toEqual(['op', 'mine', 'hi']);
  });
});
