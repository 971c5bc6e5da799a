/**
 * The /__sim control surface that tests, the demo and chaos runs steer the simulator with: stats, reset,
 * behaviors per key and for all keys, options, and the uploaded media. No apikey and no edge check.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseKeyBehavior } from './behaviors.js';
import { JSON_BODY_LIMIT, decodePathSegment, parseJson, readPostBody, sendJson, sendText } from './http.js';
import { numericOptions, parseOptionsPatch } from './options.js';
import type { SimState } from './state.js';

export async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, state: SimState): Promise<void> {
  const method = req.method ?? 'GET';
  const body = await readPostBody(req, JSON_BODY_LIMIT);
  const bad = (message: string): void => sendJson(res, 400, { errorCode: 'invalid_request', message });
  const jsonBody = (): unknown => {
    if (body.length === 0) return {};
    const j = parseJson(body);
    if (!j.ok) throw new Error('body is not valid JSON');
    return j.value;
  };

  if (method === 'GET' && path === '/__sim/stats') return sendJson(res, 200, state.snapshot());
  if (method === 'GET' && path === '/__sim/options') return sendJson(res, 200, numericOptions(state.opts));
  if (method === 'POST' && path === '/__sim/reset') {
    state.reset();
    return sendJson(res, 200, { ok: true });
  }
  try {
    if (method === 'POST' && path === '/__sim/all-keys') {
      state.behaviors.setAll(parseKeyBehavior(jsonBody()));
      return sendJson(res, 200, { ok: true });
    }
    const km = /^\/__sim\/keys\/([^/]+)$/.exec(path);
    if (method === 'POST' && km) {
      state.behaviors.setKey(decodePathSegment(km[1]!), parseKeyBehavior(jsonBody()));
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'POST' && path === '/__sim/options') {
      state.setOptions(parseOptionsPatch(jsonBody()));
      return sendJson(res, 200, { ok: true });
    }
  } catch (err) {
    return bad((err as Error).message);
  }
  const mm = /^\/__sim\/media\/([0-9a-f]+)(\/text)?$/.exec(path);
  if (method === 'GET' && mm) {
    const rec = state.media.get(mm[1]!);
    if (!rec) return sendJson(res, 404, { errorCode: 'not_found', message: 'Media not found' });
    return mm[2] ? sendText(res, 200, 'text/plain; charset=utf-8', rec.context) : sendText(res, 200, 'text/plain; charset=utf-8', `[simulated file ${rec.name}]`);
  }
  sendJson(res, 404, { errorCode: 'not_found', message: `Cannot ${method} ${path}` });
}
