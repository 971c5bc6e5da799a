/**
 * Automatic routing: the model name `auto` (AUTO_MODEL_NAME) picks its model from what the request needs.
 * Rules are tried in order; the first whose every condition holds names the model; none → DEFAULT_MODEL.
 * Pure: no I/O, tested as a table (auto-route.test.ts). The rules and their defaults: docs/models.md.
 */
import { parseJsonText } from './json-text.js';
import type { GatewayRequest } from './types.js';

export type AutoCondition = 'images' | 'files' | 'tools' | 'reasoning' | 'long_context';

export interface AutoRule {
  /** every condition must hold */
  when: AutoCondition[];
  model: string;
  /** long_context: estimated prompt tokens at or above this (default LONG_CONTEXT_TOKENS) */
  minTokens?: number;
}

export const LONG_CONTEXT_TOKENS = 100_000;

/**
 * The defaults: hard needs first (a model that cannot see images or cannot hold the prompt is no answer at all),
 * preferences after. gpt-4o sees images; gemini-2.5-pro holds a million tokens and sees images; o3-mini is a
 * reasoning model; gpt-4.1 follows tool schemas well.
 */
export const DEFAULT_AUTO_ROUTES: readonly AutoRule[] = Object.freeze([
  { when: ['images', 'long_context'], model: 'gemini-2.5-pro' },
  { when: ['images'], model: 'gpt-4o' },
  { when: ['long_context'], model: 'gemini-2.5-pro' },
  { when: ['reasoning'], model: 'o3-mini' },
  { when: ['tools'], model: 'gpt-4.1' },
]);

const CONDITIONS: ReadonlySet<string> = new Set(['images', 'files', 'tools', 'reasoning', 'long_context']);

/**
 * AUTO_ROUTES: a JSON array of `{"when": "images" | ["images", "tools"], "model": "gpt-4o", "minTokens"?: n}`.
 * An empty string gives the defaults; `[]` turns every rule off (auto always means DEFAULT_MODEL).
 */
export function parseAutoRoutes(raw: string): AutoRule[] {
  const parsed = parseJsonText(raw);
  if (parsed === undefined) return DEFAULT_AUTO_ROUTES.map((r) => ({ ...r, when: [...r.when] }));
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of {"when", "model"} rules');
  return parsed.map((item: unknown, i): AutoRule => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`rule ${i}: expected an object`);
    const r = item as Record<string, unknown>;
    const whenRaw = r['when'];
    const when = typeof whenRaw === 'string' ? [whenRaw] : whenRaw;
    if (!Array.isArray(when) || when.length === 0 || !when.every((c): c is AutoCondition => typeof c === 'string' && CONDITIONS.has(c))) {
      throw new Error(`rule ${i}: "when" must be one or more of ${[...CONDITIONS].join(', ')}`);
    }
    if (typeof r['model'] !== 'string' || r['model'].trim() === '') throw new Error(`rule ${i}: "model" must be a model name`);
    const rule: AutoRule = { when: [...new Set(when)], model: r['model'].trim() };
    const min = r['minTokens'];
    if (min !== undefined) {
      if (typeof min !== 'number' || !Number.isInteger(min) || min < 1) throw new Error(`rule ${i}: "minTokens" must be a positive integer`);
      rule.minTokens = min;
    }
    return rule;
  });
}

/** A cheap token estimate (characters / 4, rounded up) of everything the query will carry; no tokenizer run. */
export function estimatePromptTokens(req: GatewayRequest): number {
  let chars = 0;
  for (const m of req.messages) {
    chars += m.content.length;
    for (const c of m.toolCalls ?? []) chars += c.arguments.length + c.name.length;
  }
  for (const t of req.tools ?? []) chars += t.name.length + (t.description?.length ?? 0) + JSON.stringify(t.parameters ?? {}).length;
  if (req.responseFormat?.type === 'json_schema') chars += JSON.stringify(req.responseFormat.schema ?? {}).length;
  return Math.ceil(chars / 4);
}

export interface AutoChoice {
  model: string;
  /** index of the rule that matched, -1: the default */
  rule: number;
}

export function chooseAutoModel(req: GatewayRequest, rules: readonly AutoRule[], defaultModel: string): AutoChoice {
  const media = req.messages.flatMap((m) => m.media ?? []);
  const facts: Record<Exclude<AutoCondition, 'long_context'>, boolean> = {
    images: media.some((p) => p.kind === 'image'),
    files: media.some((p) => p.kind === 'file'),
    tools: (req.tools?.length ?? 0) > 0 && req.toolChoice !== 'none',
    reasoning: req.params.reasoningEffort !== undefined,
  };
  let tokens: number | undefined;
  const holds = (c: AutoCondition, rule: AutoRule): boolean => {
    if (c !== 'long_context') return facts[c];
    tokens ??= estimatePromptTokens(req);
    return tokens >= (rule.minTokens ?? LONG_CONTEXT_TOKENS);
  };
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (rule.when.every((c) => holds(c, rule))) return { model: rule.model, rule: i };
  }
  return { model: defaultModel, rule: -1 };
}
