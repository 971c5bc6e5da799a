/**
 * Checks of upstream request bodies, worded like the real API's 400 answers (the message of the first problem
 * found), and the type guards they share.
 */
import { isAcceptedEndpoint } from './catalogue.js';

const REASONING_EFFORTS = ['low', 'medium', 'max'];

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const inRange = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;

/** The fields of a session creation body that the session keeps. */
export interface SessionBody {
  externalUserId: string;
  pluginIds: string[];
}

/** Read the body of POST /chat/v1/sessions: its fields, or the message of the first problem found. */
export function readSessionBody(b: Record<string, unknown>): SessionBody | { error: string } {
  const ext = b['externalUserId'];
  if (typeof ext !== 'string' || ext.length === 0) return { error: 'externalUserId is required' };
  const plugins = b['pluginIds'] ?? [];
  if (!(isStringArray(plugins) && plugins.length <= 20)) return { error: 'pluginIds must be an array of at most 20 strings' };
  if (b['agentIds'] !== undefined && !isStringArray(b['agentIds'])) return { error: 'agentIds must be an array of strings' };
  const meta = b['contextMetadata'];
  if (meta !== undefined && !(Array.isArray(meta) && meta.every((m) => isObj(m) && typeof m['key'] === 'string'))) {
    return { error: 'contextMetadata must be an array of {key, value}' };
  }
  return { externalUserId: ext, pluginIds: [...plugins] };
}

/** Validate the query body like the real API; returns an error message or undefined. */
export function validateQueryBody(b: Record<string, unknown>): string | undefined {
  if (typeof b['query'] !== 'string' || b['query'].length === 0) return 'query is required';
  if (typeof b['endpointId'] !== 'string' || b['endpointId'].length === 0) return 'endpointId is required';
  const mode = b['responseMode'];
  if (mode === undefined || mode === null) return 'responseMode is required';
  if (mode !== 'sync' && mode !== 'stream' && mode !== 'webhook') return 'responseMode must be one of sync, stream, webhook';
  if (!isAcceptedEndpoint(b['endpointId'])) return `Invalid endpointId: ${b['endpointId']}`;
  const plugins = b['pluginIds'];
  if (plugins !== undefined && !(isStringArray(plugins) && plugins.length <= 20)) return 'pluginIds must be an array of at most 20 strings';
  const effort = b['reasoningEffort'];
  if (effort !== undefined && !(typeof effort === 'string' && REASONING_EFFORTS.includes(effort))) {
    return 'reasoningEffort must be one of low, medium, max';
  }
  if (b['reasoningMode'] !== undefined && typeof b['reasoningMode'] !== 'string') return 'reasoningMode must be a string';
  for (const f of ['fulfillmentOnly', 'onlyFulfillment']) {
    if (b[f] !== undefined && typeof b[f] !== 'boolean') return `${f} must be a boolean`;
  }
  const mc = b['modelConfigs'];
  if (mc === undefined) return undefined;
  if (!isObj(mc)) return 'modelConfigs must be an object';
  if (mc['fulfillmentPrompt'] !== undefined && typeof mc['fulfillmentPrompt'] !== 'string') return 'modelConfigs.fulfillmentPrompt must be a string';
  const stops = mc['stopSequences'];
  if (stops !== undefined) {
    if (!isStringArray(stops)) return 'modelConfigs.stopSequences must be an array of strings';
    if (stops.length > 4) return 'modelConfigs.stopSequences must contain at most 4 items';
  }
  if (mc['temperature'] !== undefined && !inRange(mc['temperature'], 0, 2)) return 'modelConfigs.temperature must be between 0 and 2';
  if (mc['topP'] !== undefined && !inRange(mc['topP'], 0, 1)) return 'modelConfigs.topP must be between 0 and 1';
  for (const f of ['presencePenalty', 'frequencyPenalty']) {
    if (mc[f] !== undefined && !inRange(mc[f], 0, 2)) return `modelConfigs.${f} must be between 0 and 2`;
  }
  const max = mc['maxTokens'];
  if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max > 0)) return 'modelConfigs.maxTokens must be a positive integer';
  return undefined;
}
