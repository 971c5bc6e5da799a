/** TRUSTED_PROXIES as fastify's trustProxy (which reads X-Forwarded-For accordingly into request.ip). */
import type { TrustedProxies } from '../core/trusted-proxies.js';

export function trustProxySetting(proxies: TrustedProxies): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (proxies === undefined) return false;
  if ('addresses' in proxies) return proxies.addresses;
  const { hops } = proxies;
  // hop 0 is the socket's peer: the nearest `hops` proxies are trusted, the address before them is the client
  return (_address, hop) => hop < hops;
}
