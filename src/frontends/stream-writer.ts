/**
 * Writes a server-sent-event response on the raw socket for every front end: headers once, backpressure
 * respected, comment pings while the answer is quiet (only after the answer started: a ping commits the 200),
 * and a way to learn that the client went away.
 */
import type { ServerResponse } from 'node:http';

export interface StreamWriterOptions {
  headers: Record<string, string>;
  /** ms of silence before a `: ping` comment; 0 turns pings off */
  pingMs: number;
  /** what a ping writes; default SSE_COMMENT_PING */
  ping?: string;
}

/**
 * Keep-alive. A comment line, never a named event without data: openai-node JSON-parses every `data`, and an
 * `event: ping` frame makes it throw.
 */
export const SSE_COMMENT_PING = ': ping\n\n';

export class SseWriter {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    opts: StreamWriterOptions,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      // fastify's onSend hook (src/http/security.ts) does not run for a hijacked reply
      'x-content-type-options': 'nosniff',
      ...opts.headers,
    });
    res.flushHeaders();
    if (opts.pingMs > 0) {
      const ping = opts.ping ?? SSE_COMMENT_PING;
      this.timer = setInterval(() => {
        if (!this.closed) res.write(ping);
      }, opts.pingMs);
      this.timer.unref();
    }
    // 'close' comes once per response, and stop() is idempotent: `on` spares once()'s wrapper objects
    res.on('close', () => this.stop());
  }

  /** true while the client is still there */
  get open(): boolean {
    return !this.closed && !this.res.destroyed;
  }

  /**
   * Write one piece. Returns a promise only when the socket is full (backpressure: it resolves on 'drain' or
   * close), else undefined, so the usual chunk costs no promise: `const wait = writer.write(t); if (wait) await wait;`.
   */
  write(text: string): Promise<void> | undefined {
    if (text.length === 0 || !this.open) return undefined;
    if (this.timer !== undefined) this.timer.refresh();
    return this.res.write(text) ? undefined : waitDrain(this.res);
  }

  end(text = ''): void {
    this.stop();
    if (this.res.destroyed || this.res.writableEnded) return;
    this.res.end(text);
  }

  private stop(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function waitDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
