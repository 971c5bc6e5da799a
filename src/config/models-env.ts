/**
 * zod helpers for the JSON-valued model settings of config.ts (MODEL_FALLBACKS, AUTO_ROUTES, MODEL_SETTINGS): the
 * parsing lives beside the code that uses it, so the config file loader can reuse the same functions.
 */
import { z } from 'zod';
import { parseModelSettingsEnv } from '../core/model-settings.js';

/** A string setting read by `parse`; its Error becomes the setting's message. */
export function jsonSetting<T>(parse: (raw: string) => T) {
  return z.string().transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
}

export const modelSettingsEnv = jsonSetting(parseModelSettingsEnv);
