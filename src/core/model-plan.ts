/**
 * Which models a request may be answered by, in order, and when to move on to the next one.
 *
 * A plan is: the requested model (or, for AUTO_MODEL_NAME, the one the auto rules pick), then its fallback chain
 * (MODEL_FALLBACKS), each resolved to an endpoint, duplicates and catalogue-inactive endpoints left out, each with
 * its per-model settings applied. The engine walks the plan before the first answer byte only; the decisions
 * (`afterFailure`, `fallBackAfterKeys`) are pure and tested as tables (model-plan.test.ts).
 */
import { parseJsonText } from './json-text.js';
import type { ModelSettings } from './model-settings.js';
import { applyModelSetting } from './model-settings.js';
import type { UpstreamFailure } from '../ondemand/failure.js';
import type { ModelRouter } from '../ondemand/models.js';
import { normaliseModelName } from '../ondemand/models.js';
import { classifyFailure, isModelFailure } from '../keypool/classify.js';
import { chooseAutoModel } from './auto-route.js';
import type { AutoRule } from './auto-route.js';
import { GatewayError } from './errors.js';
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

// ---- the decisions (pure) ----------------------------------------------------------------------------------------

export type FailureVerdict = 'retry_key' | 'next_model' | 'fail';

/**
 * The upstream refused the endpoint itself (unknown, inactive, not allowed): a 400/404/422 whose message names
 * the endpoint or model. Never a context-length error: that is the request's size, every model would need a look.
 */
export function isEndpointRejection(f: UpstreamFailure): boolean {
  if (f.kind !== 'http' || f.phase !== 'query') return false;
  if (f.errorCode === 'context_length_exceeded') return false;
  if (f.status !== 400 && f.status !== 404 && f.status !== 422) return false;
  return /endpoint|model|inactive/i.test(`${f.errorCode ?? ''} ${f.upstreamMessage ?? ''}`);
}

/** Right after one failed attempt (before the first answer byte): another key, the next model, or give up. */
export function afterFailure(f: UpstreamFailure, ctx: { hasNextModel: boolean }): FailureVerdict {
  if (f.kind === 'client_aborted') return 'fail';
  const cls = classifyFailure(f);
  if (cls === 'client') return ctx.hasNextModel && isEndpointRejection(f) ? 'next_model' : 'fail';
  // every key gets a model_error for that model: another key is a wasted call when another model is configured
  if (isModelFailure(f) && (f.phase === 'query' || f.phase === 'stream')) return ctx.hasNextModel ? 'next_model' : 'retry_key';
  return 'retry_key';
}

/**
 * The keys (attempts, or usable keys) ran out for this model. A server-side failure that every key tried also got
 * is the model's (or its endpoint's) trouble: move on. Key trouble (auth, rate, edge) and timeouts or network
 * errors are not about the model, and another model would meet them too.
 */
export function fallBackAfterKeys(f: UpstreamFailure | undefined, ctx: { hasNextModel: boolean }): boolean {
  if (!ctx.hasNextModel || f === undefined) return false;
  // a failed media upload or session creation is not the model's doing
  if (f.phase !== 'query' && f.phase !== 'stream') return false;
  if (isModelFailure(f)) return true;
  if (classifyFailure(f) !== 'transient') return false;
  if (f.kind === 'http') return (f.status ?? 0) >= 500;
  return f.kind === 'stream_error';
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

export function modelNotFound(requested: string): GatewayError {
  return new GatewayError(`The model \`${requested}\` does not exist or you do not have access to it.`, {
    status: 404,
    type: 'invalid_request_error',
    code: 'model_not_found',
    param: 'model',
    shouldRetry: false,
  });
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
      // the chain of the name asked for, else of the alias it resolved to, else of its endpointId
      const chain =
        fallbacks.get(normaliseModelName(first)) ??
        (firstRoute.alias !== null ? fallbacks.get(normaliseModelName(firstRoute.alias)) : undefined) ??
        fallbacks.get(normaliseModelName(firstRoute.endpointId)) ??
        [];
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
