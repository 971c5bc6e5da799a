/**
 * Small node:http helpers for the simulator: request headers and paths, body reading, JSON and HTML answers,
 * delays and resets that notice a vanished client, the edge check.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Cap on a JSON request body; media file uploads have their own, larger one. */
export const JSON_BODY_LIMIT = 10 * 1024 * 1024;

export class BodyTooLarge extends Error {}

/** A request header's first value. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A URL path segment decoded, or as it came when it is not valid percent-encoding. */
export function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge(`body larger than ${limit} bytes`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body of a POST request; the body of any other request is drained unread. */
export async function readPostBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const body = req.method === 'POST' ? await readBody(req, limit) : Buffer.alloc(0);
  if (req.method !== 'POST') req.resume();
  return body;
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false };

/** JSON.parse that answers undefined instead of throwing (also for an empty body). */
export function parseJson(buf: Buffer): ParsedJson {
  if (buf.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, ...headers });
  res.end(data);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const data = Buffer.from(text);
  res.writeHead(status, { 'content-type': contentType, 'content-length': data.length, ...headers });
  res.end(data);
}

/** Wait `ms` unless the client goes away first; resolves false when the response is gone. */
export function pause(res: ServerResponse, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

/** Drop the connection with a TCP reset where node can, else just destroy it. */
export function resetSocket(req: IncomingMessage): void {
  const s = req.socket;
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

/** A Cloudflare-style HTML error page; `error code: 1010` for the 403 edge block. */
export function edgeHtml(status: number): string {
  const code = status === 403 ? 1010 : status;
  const title = status === 403 ? 'Access denied' : `Error ${status}`;
  return (
    '<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="UTF-8" />' +
    `<title>${title} | api.on-demand.io used Cloudflare to restrict access</title></head>\n` +
    `<body><div id="cf-wrapper"><h1>${title}</h1><p>error code: ${code}</p>` +
    "<p>The owner of this website (api.on-demand.io) has banned your access based on your browser's signature.</p>" +
    '</div></body></html>\n'
  );
}

export function sendEdgeHtml(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  sendText(res, status, 'text/html; charset=UTF-8', edgeHtml(status), { server: 'cloudflare', ...headers });
}

/** A missing, empty or library-default User-Agent (`undici`, `node`, `node-fetch`), which the edge blocks. */
export function isDefaultUserAgent(ua: string | undefined): boolean {
  if (ua === undefined) return true;
  const v = ua.trim();
  return v === '' || /^(?:undici|node(?:\.js)?|node-fetch)(?:\/\S*)?$/i.test(v);
}

const STATUS_CODES: Record<number, [string, string]> = {
  400: ['invalid_request', 'Invalid request'],
  401: ['unauthenticated', 'Invalid or missing API key'],
  403: ['unauthorized', 'You are not authorized to perform this action'],
  404: ['not_found', 'Not found'],
  429: ['rate_limit_exceeded', 'Rate limit exceeded, please try again later'],
  500: ['server_error', 'Internal server error'],
  502: ['bad_gateway', 'Bad gateway'],
  503: ['resource_unavailable', 'Service temporarily unavailable'],
  504: ['plugin_execution_timeout', 'Plugin execution timed out'],
};

/** OnDemand's usual {errorCode, message} for a status. */
export function defaultErrorBody(status: number): { errorCode: string; message: string } {
  const [errorCode, message] = STATUS_CODES[status] ?? (status >= 500 ? ['server_error', 'Internal server error'] : ['invalid_request', 'Request failed']);
  return { errorCode, message };
}

/** The HTTP status OnDemand uses for an errorCode (sync answers carrying an error). */
export function statusForErrorCode(errorCode: string): number {
  for (const [status, [code]] of Object.entries(STATUS_CODES)) {
    if (code === errorCode) return Number(status);
  }
  return errorCode === 'context_length_exceeded' ? 400 : 500;
}
