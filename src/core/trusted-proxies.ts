/**
 * TRUSTED_PROXIES: which proxies in front of the gateway may name the client in X-Forwarded-For. The auth throttle
 * counts failures by that address, so a header from anyone else is ignored (a guesser could name a new address
 * each try). Empty: no proxy, the socket's peer is the client. A number: that many proxy hops (a Hugging Face
 * Space: 1). Otherwise addresses or CIDR ranges, and the names loopback, linklocal and uniquelocal.
 */
import ipaddr from 'ipaddr.js';

export type TrustedProxies = { hops: number } | { addresses: string[] } | undefined;

const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Parses the setting; throws with a message naming the entry that is neither an address, a range nor a name. */
export function parseTrustedProxies(raw: string): TrustedProxies {
  const text = raw.trim();
  if (text === '' || text === '0') return undefined;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 32) throw new Error('expected at most 32 proxy hops');
    return { hops };
  }
  const addresses = text
    .split(/[,\s]+/)
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const a of addresses) {
    if (!RANGE_NAMES.has(a) && !ipaddr.isValid(a) && !ipaddr.isValidCIDR(a)) {
      throw new Error(`"${a}" is not a number of hops, an IP address, a CIDR range or loopback/linklocal/uniquelocal`);
    }
  }
  return { addresses };
}
