/** JSON-valued settings (MODEL_MAP, MODEL_FALLBACKS, AUTO_ROUTES, MODEL_SETTINGS) share this reading of the text. */

/** The parsed value, or undefined for a blank setting; throws Error('not valid JSON') without echoing the text. */
export function parseJsonText(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new Error('not valid JSON');
  }
}
