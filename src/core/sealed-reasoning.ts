/**
 * The `encrypted_content` of a Responses reasoning item: what OnDemand's thinking said, sealed by the gateway so
 * a client can send it back on its next turn and the gateway can read it, and nobody else can read or forge it.
 *
 * AES-256-GCM (authenticated encryption) under a key derived with HKDF-SHA256 from the gateway's reasoning secret
 * (REASONING_SECRET, or a derivation every replica shares: docs/tools.md). A blob is `odgw1.` + base64url of
 * nonce (12 bytes) | ciphertext | tag (16 bytes). A blob that does not open (forged, altered, made under another
 * secret or by another provider) yields nothing: the caller drops it and the model never sees its text.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'odgw1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** bound to every blob, so a ciphertext made for another purpose under the same key does not open as reasoning */
const ASSOCIATED_DATA = Buffer.from('ondemand-gateway reasoning v1');
/** larger blobs are not ours (the gateway never seals this much thinking); not even decoded */
const MAX_BLOB_CHARS = 8 * 1024 * 1024;

export class ReasoningSeal {
  private constructor(private readonly key: Buffer) {}

  /** The seal for a secret string: every gateway holding the same secret seals and opens the same blobs. */
  static fromSecret(secret: string): ReasoningSeal {
    if (secret === '') throw new Error('the reasoning secret is empty');
    return new ReasoningSeal(Buffer.from(hkdfSync('sha256', secret, 'ondemand-gateway', 'reasoning encryption key v1', 32)));
  }

  seal(text: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(ASSOCIATED_DATA);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The text sealed in `blob`; undefined unless this gateway's secret sealed it and it is unaltered. */
  open(blob: unknown): string | undefined {
    if (typeof blob !== 'string' || !blob.startsWith(PREFIX) || blob.length > MAX_BLOB_CHARS) return undefined;
    const raw = Buffer.from(blob.slice(PREFIX.length), 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(ASSOCIATED_DATA);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/**
 * The default reasoning secret: the upstream keys, sorted, so every replica configured with the same keys agrees
 * and a restart keeps it, while clients (who never see an upstream key) cannot derive it. Undefined without keys.
 */
export function reasoningSecretFromKeys(upstreamKeys: readonly string[]): string | undefined {
  const keys = [...new Set(upstreamKeys)].sort();
  return keys.length === 0 ? undefined : `upstream-keys:${keys.join('\n')}`;
}
