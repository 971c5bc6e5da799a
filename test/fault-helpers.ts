/**
 * Helpers for the fault, fuzz, chaos and shutdown tests: raw HTTP calls (no client library smoothing anything
 * over), an SSE reader, and the checks that say whether what a client received is OpenAI-shaped.
 */
import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** the response ended normally (false: the socket was cut or errored) */
  complete: boolean;
}

export interface OpenStream {
  status: Promise<number>;
  /** resolves with the text received so far once it contains `marker` */
  waitFor(marker: string): Promise<string>;
  /** the whole response */
  done: Promise<RawResponse>;
  abort(): void;
}

/** POST a body (string or JSON) and read the whole response; never rejects on HTTP status or a cut socket. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}, opts: { method?: string; timeoutMs?: number; agent?: Agent } = {}): Promise<RawResponse> {
  return open(url, body, headers, opts).done;
}

export function open(url: string, body: unknown, headers: Record<string, string> = {}, opts: { method?: string; timeoutMs?: number; agent?: Agent } = {}): OpenStream {
  const data = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  let text = '';
  const watchers: Array<{ marker: string; resolve: (t: string) => void }> = [];
  let resolveStatus!: (n: number) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const req = httpRequest(url, {
    method: opts.method ?? (data === undefined ? 'GET' : 'POST'),
    agent: opts.agent ?? false,
    headers: { ...(data !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
  });
  const done = new Promise<RawResponse>((resolve) => {
    let settled = false;
    let res: { statusCode?: number | undefined; headers: IncomingHttpHeaders } | undefined;
    const finish = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolveStatus(res?.statusCode ?? 0);
      resolve({ status: res?.statusCode ?? 0, headers: res?.headers ?? {}, body: text, complete });
    };
    const timer = setTimeout(() => {
      req.destroy(new Error('test timeout'));
    }, opts.timeoutMs ?? 15_000);
    req.on('response', (r) => {
      res = r;
      resolveStatus(r.statusCode ?? 0);
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        text += chunk;
        for (const w of [...watchers]) {
          if (text.includes(w.marker)) {
            watchers.splice(watchers.indexOf(w), 1);
            w.resolve(text);
          }
        }
      });
      r.on('end', () => finish(true));
      r.on('aborted', () => finish(false));
      r.on('error', () => finish(false));
      r.on('close', () => finish(r.complete));
    });
    req.on('error', () => finish(false));
  });
  if (data !== undefined) req.end(data);
  else req.end();
  return {
    status,
    done,
    abort: () => req.destroy(),
    waitFor: (marker) =>
      text.includes(marker)
        ? Promise.resolve(text)
        : new Promise((resolve, reject) => {
            watchers.push({ marker, resolve });
            void done.then(() => {
              if (!text.includes(marker)) reject(new Error(`stream ended without ${JSON.stringify(marker)}: ${text.slice(0, 500)}`));
            });
          }),
  };
}

export const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** {"error":{"message": string, "type": string, "param": string|null, "code": string|null}} */
export function isOpenAIError(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const e = (value as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return false;
  const { message, type, param, code } = e as Record<string, unknown>;
  return (
    typeof message === 'string' && message.length > 0 && typeof type === 'string' && (param === null || typeof param === 'string') && (code === null || typeof code === 'string')
  );
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface SseCheck {
  ok: boolean;
  /** 'done': ended with [DONE]; 'error': ended with an error chunk */
  ending?: 'done' | 'error';
  content: string;
  problem?: string;
  errorCode?: string | null;
}

/**
 * Checks a chat.completion.chunk stream as a strict client would: every data line is a chunk of one id, or one
 * error object, or [DONE]; comments are allowed; the stream ends with [DONE] after a finish_reason, or with an
 * error chunk, and nothing follows either.
 */
export function checkChatStream(text: string): SseCheck {
  let content = '';
  let id: string | undefined;
  let finished = false;
  let ending: SseCheck['ending'];
  let errorCode: string | null | undefined;
  const fail = (problem: string): SseCheck => ({ ok: false, content, problem });
  if (!text.endsWith('\n\n')) return fail(`stream does not end with a blank line: ${JSON.stringify(text.slice(-200))}`);
  for (const frame of text.split('\n\n')) {
    if (frame === '') continue;
    if (ending !== undefined) return fail(`data after the end of the stream: ${frame.slice(0, 200)}`);
    const lines = frame.split('\n').filter((l) => !l.startsWith(':'));
    if (lines.length === 0) continue;
    if (lines.length !== 1 || !lines[0]!.startsWith('data: ')) return fail(`not a data frame: ${frame.slice(0, 200)}`);
    const data = lines[0]!.slice(6);
    if (data === '[DONE]') {
      if (!finished) return fail('[DONE] without a finish_reason');
      ending = 'done';
      continue;
    }
    const value = parseJson(data) as Record<string, unknown> | undefined;
    if (value === undefined) return fail(`data is not JSON: ${data.slice(0, 200)}`);
    if ('error' in value) {
      if (!isOpenAIError(value)) return fail(`error chunk not OpenAI-shaped: ${data.slice(0, 200)}`);
      ending = 'error';
      errorCode = (value['error'] as { code: string | null }).code;
      continue;
    }
    if (value['object'] !== 'chat.completion.chunk' || typeof value['id'] !== 'string') return fail(`not a chunk: ${data.slice(0, 200)}`);
    if (id !== undefined && value['id'] !== id) return fail('chunk id changed mid-stream');
    id = value['id'];
    const choices = value['choices'];
    if (!Array.isArray(choices)) return fail('chunk without choices array');
    for (const c of choices as Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>) {
      if (typeof c.delta?.content === 'string') content += c.delta.content;
      if (typeof c.finish_reason === 'string') finished = true;
    }
  }
  if (ending === undefined) return fail('stream ended without [DONE] or an error chunk');
  return { ok: true, ending, content, ...(errorCode !== undefined ? { errorCode } : {}) };
}

/** A non-stream answer: a chat.completion with a finish_reason. */
export function isChatCompletion(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const choices = v['choices'];
  if (v['object'] !== 'chat.completion' || typeof v['id'] !== 'string' || !Array.isArray(choices) || choices.length === 0) return false;
  const c = choices[0] as { message?: { role?: unknown; content?: unknown }; finish_reason?: unknown };
  return c.message?.role === 'assistant' && typeof c.finish_reason === 'string';
}

/**
 * Whatever a client received for a chat completion is one of: a chat.completion (200), a complete chunk stream
 * (200, [DONE] or error chunk at the end), or an OpenAI-shaped error with an error status. Returns the problem or
 * undefined.
 */
export function shapeProblem(res: RawResponse, stream: boolean): string | undefined {
  if (!res.complete) return `response cut (status ${res.status}, ${res.body.length} bytes)`;
  const type = String(res.headers['content-type'] ?? '');
  if (res.status === 200 && stream && type.startsWith('text/event-stream')) {
    const check = checkChatStream(res.body);
    return check.ok ? undefined : check.problem;
  }
  if (res.status === 200) {
    return isChatCompletion(parseJson(res.body)) ? undefined : `200 without a chat.completion: ${res.body.slice(0, 200)}`;
  }
  if (res.status < 400) return `unexpected status ${res.status}`;
  if (!type.startsWith('application/json')) return `error ${res.status} with content-type ${type}`;
  return isOpenAIError(parseJson(res.body)) ? undefined : `error ${res.status} not OpenAI-shaped: ${res.body.slice(0, 200)}`;
}

export async function waitUntil(check: () => boolean, timeoutMs = 5_000, stepMs = 10): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
