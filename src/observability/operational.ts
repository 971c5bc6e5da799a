/** Paths that are the gateway's own operation, not API traffic: not in the charts, recent errors, usage or traces. */
export const OPERATIONAL_PATH = /^\/(?:admin(?:\/|$)|metrics$|dashboard(?:\/|$)|healthz$|readyz$|favicon\.ico$|$)/;
