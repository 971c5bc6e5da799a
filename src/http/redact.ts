/**
 * A URL path as logs, error messages and the dashboard show it. A path segment that looks like a secret (long,
 * with a digit: an API key pasted into the URL by mistake, e.g. `/v1/sk-…` or `/admin/keys/<raw key>`) is
 * replaced by `[redacted]`; key fingerprints (`k:3f9a1c2b`) and ordinary words stay readable.
 */
const FINGERPRINT = /^[kc]:[0-9a-f]{8,16}$/;

export function redactPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (looksSecret(segment) ? '[redacted]' : segment))
    .join('/');
}

function looksSecret(segment: string): boolean {
  return segment.length >= 16 && /\d/.test(segment) && !FINGERPRINT.test(segment);
}
