/**
 * Per-model settings: default sampling parameters and a system prompt per alias, from MODEL_SETTINGS (JSON) and
 * the config file's `models` section (the file wins per model). The client's own values always win over a
 * default. Shape and rules: docs/models.md.
 */
import { parseJsonText } from './json-text.js';
import { z } from 'zod';
import type { GatewayRequest, GenerationParams, ReasoningEffort } from './types.js';
import { normaliseModelName } from '../ondemand/models.js';

const effort = z.enum(['minimal', 'low', 'medium', 'high', 'max']);

const paramsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  stop: z.array(z.string().min(1)).max(4).optional(),
  presence_penalty: z.number().min(0).max(2).optional(),
  frequency_penalty: z.number().min(0).max(2).optional(),
  reasoning_effort: effort.optional(),
});

const modelSettingSchema = z.strictObject({
  params: paramsSchema.optional(),
  system_prompt: z.string().min(1).optional(),
  /** prepend (default): always first; if_absent: only when the client sent no system message */
  system_prompt_mode: z.enum(['prepend', 'if_absent']).optional(),
  /** OnDemand plugin ids every request to this model runs (docs/plugins.md); [] turns a "*" default off */
  plugins: z
    .array(z.string().regex(/^(?:plugin|agent)-[A-Za-z0-9_-]{1,100}$/, 'expected an OnDemand plugin id such as plugin-1713924030'))
    .max(20)
    .optional(),
});

/** alias (or endpointId, or "*" for every model) → settings */
export const modelSettingsSchema = z.record(z.string().min(1), modelSettingSchema);

export type ModelSetting = z.infer<typeof modelSettingSchema>;

export interface ModelSettings {
  /** settings for a model name (alias or endpointId), "*" merged under the model's own; undefined: none */
  get(...names: Array<string | null | undefined>): ModelSetting | undefined;
}

/** Validates a `models` object (env JSON or the config file's section); throws an Error naming the bad path. */
export function parseModelSettings(value: unknown): Record<string, ModelSetting> {
  if (value === undefined || value === null) return {};
  const parsed = modelSettingsSchema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    );
  }
  return parsed.data;
}

/** MODEL_SETTINGS: '' → {}; otherwise a JSON object. */
export function parseModelSettingsEnv(raw: string): Record<string, ModelSetting> {
  const json = parseJsonText(raw);
  return json === undefined ? {} : parseModelSettings(json);
}

/** A lookup over several layers, later layers winning per model (env first, then the config file). */
export function createModelSettings(...layers: ReadonlyArray<Readonly<Record<string, ModelSetting>>>): ModelSettings {
  const table = new Map<string, ModelSetting>();
  for (const layer of layers) for (const [name, setting] of Object.entries(layer)) table.set(normaliseModelName(name), setting);
  const star = table.get('*');
  return {
    get(...names) {
      for (const name of names) {
        if (name === undefined || name === null || name === '') continue;
        const own = table.get(normaliseModelName(name));
        if (own !== undefined) return star === undefined ? own : mergeSetting(star, own);
      }
      return star;
    },
  };
}

function mergeSetting(under: ModelSetting, over: ModelSetting): ModelSetting {
  const out: ModelSetting = { ...under, ...over };
  if (under.params !== undefined || over.params !== undefined) out.params = { ...under.params, ...over.params };
  return out;
}

const EFFORT_MAP: Record<z.infer<typeof effort>, ReasoningEffort> = { minimal: 'low', low: 'low', medium: 'medium', high: 'max', max: 'max' };

/** The request with the model's defaults filled in where the client left a field unset, and its system prompt. */
export function applyModelSetting(req: GatewayRequest, setting: ModelSetting | undefined): GatewayRequest {
  if (setting === undefined) return req;
  const p = setting.params ?? {};
  const params: GenerationParams = { ...req.params };
  if (params.temperature === undefined && p.temperature !== undefined) params.temperature = p.temperature;
  if (params.topP === undefined && p.top_p !== undefined) params.topP = p.top_p;
  if (params.maxTokens === undefined && p.max_tokens !== undefined) params.maxTokens = p.max_tokens;
  if (params.stop === undefined && p.stop !== undefined && p.stop.length > 0) params.stop = [...p.stop];
  if (params.presencePenalty === undefined && p.presence_penalty !== undefined) params.presencePenalty = p.presence_penalty;
  if (params.frequencyPenalty === undefined && p.frequency_penalty !== undefined) params.frequencyPenalty = p.frequency_penalty;
  if (params.reasoningEffort === undefined && p.reasoning_effort !== undefined) params.reasoningEffort = EFFORT_MAP[p.reasoning_effort];
  let messages = req.messages;
  const prompt = setting.system_prompt;
  if (prompt !== undefined) {
    const hasSystem = messages.some((m) => m.role === 'system');
    if (setting.system_prompt_mode !== 'if_absent' || !hasSystem) messages = [{ role: 'system', content: prompt }, ...messages];
  }
  const out: GatewayRequest = { ...req, params, messages };
  if (setting.plugins !== undefined && setting.plugins.length > 0) out.modelPlugins = [...setting.plugins];
  return out;
}
