/**
 * Which models a request may be answered by, in order.
 *
 * A plan is: the requested model (or, for AUTO_MODEL_NAME, the one the auto rules pick), then its fallback chain
 * (MODEL_FALLBACKS), each resolved to an endpoint, duplicates and catalogue-inactive endpoints left out, each with
 * its per-model settings applied. The engine walks the plan before the first answer byte only; when it moves on to
 * the next model is the failure policy's call (src/core/failure-policy.ts).
 */
import { parseJsonText } from './json-text.js';
import type { ModelSettings } from './model-settings.js';
import { applyModelSetting } from './model-settings.js';
import type { ModelRouter } from '../ondemand/models.js';
import { normaliseModelName } from '../ondemand/models.js';
import { chooseAutoModel } from './auto-route.js';
import type { AutoRule } from './auto-route.js';
import { modelNotFound } from './errors.js';
import type { GatewayRequest } from './types.js';

export interface PlannedModel {
  /** the model name that answers, as reported in `x-gateway-model` and the log (an alias, or the endpointId) */
  model: string;
  endpointId: string;
  /** the request with this model's settings applied */
  request: GatewayRequest;
}

export interface ModelPlanner {
  /** throws a 404 GatewayError when the first model cannot be routed (STRICT_MODELS) */
  plan(req: GatewayRequest): PlannedModel[];
}

// ---- MODEL_FALLBACKS ---------------------------------------------------------------------------------------------

/** `{"claude-sonnet-4-6": ["claude-3.7-sonnet", "gpt-4o"]}`; '' → {}. Throws an Error with a readable message. */
export function parseFallbacks(raw: string): Record<string, string[]> {
  const json = parseJsonText(raw);
  if (json === undefined) return {};
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('expected a JSON object of model -> [fallback models]');
  const out: Record<string, string[]> = {};
  for (const [model, chain] of Object.entries(json)) {
    const list = typeof chain === 'string' ? [chain] : chain;
    if (!Array.isArray(list) || !list.every((m): m is string => typeof m === 'string' && m.trim() !== '')) {
      throw new Error(`"${model}": expected an array of model names`);
    }
    out[model] = list.map((m) => m.trim());
  }
  return out;
}

// ---- the planner ---------------------------------------------------------------------------------------------------

export interface ModelPlannerOptions {
  router: ModelRouter;
  defaultModel: string;
  fallbacks?: Readonly<Record<string, readonly string[]>>;
  /** AUTO_MODEL_NAME; '' turns automatic routing off */
  autoModelName?: string;
  autoRules?: readonly AutoRule[];
  /** per-model settings; read on every plan so a reload takes effect at once */
  settings?: () => ModelSettings | undefined;
  /** true when the catalogue says the endpoint is inactive */
  isInactive?: (endpointId: string) => boolean;
}

export function createModelPlanner(opts: ModelPlannerOptions): ModelPlanner {
  const fallbacks = new Map<string, readonly string[]>();
  for (const [model, chain] of Object.entries(opts.fallbacks ?? {})) fallbacks.set(normaliseModelName(model), chain);
  const autoName = normaliseModelName(opts.autoModelName ?? '');
  const autoRules = opts.autoRules ?? [];

  return {
    plan(req) {
      const requested = req.requestedModel;
      const isAuto = autoName !== '' && normaliseModelName(requested) === autoName;
      const first = isAuto ? chooseAutoModel(req, autoRules, opts.defaultModel).model : requested;
      const firstRoute = opts.router.resolve(first);
      if (firstRoute === null) throw modelNotFound(requested);
      // the chain of the name asked for, else of the alias it resolved to, else of its endpointId; without
      // MODEL_FALLBACKS (the default) no name is normalised to look one up
      const chain =
        fallbacks.size === 0
          ? []
          : (fallbacks.get(normaliseModelName(first)) ??
            (firstRoute.alias !== null ? fallbacks.get(normaliseModelName(firstRoute.alias)) : undefined) ??
            fallbacks.get(normaliseModelName(firstRoute.endpointId)) ??
            []);
      const settings = opts.settings?.();
      const steps: PlannedModel[] = [];
      const seen = new Set<string>();
      for (const [i, name] of [first, ...chain].entries()) {
        const route = i === 0 ? firstRoute : opts.router.resolve(name);
        // a fallback that routes nowhere (STRICT_MODELS) is skipped, as is one that only falls to the default
        if (route === null || (i > 0 && route.matched === 'default')) continue;
        const key = route.endpointId.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        const model = route.matched === 'passthrough' ? route.endpointId : (route.alias ?? name);
        const setting = settings?.get(name, route.alias, route.endpointId);
        steps.push({ model, endpointId: route.endpointId, request: applyModelSetting(req, setting) });
      }
      // inactive endpoints are skipped, unless none is left: then the first one tries (the catalogue may be stale)
      const live = opts.isInactive ? steps.filter((s) => !opts.isInactive!(s.endpointId)) : steps;
      return live.length > 0 ? live : steps.slice(0, 1);
    },
  };
}
