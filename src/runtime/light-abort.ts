/**
 * A cheaper AbortController for the one every completion makes (the client hanging up, or the shutdown, cancels its
 * upstream work): the signal is a plain object with what the gateway and node's promise timers use of an
 * AbortSignal (aborted, reason, throwIfAborted, onabort, and add/removeEventListener for 'abort'), instead of an
 * EventTarget. node's AbortSignal builds an EventTarget per controller and a listener record per listener; on the
 * request path (the signal is listened to by the session call and the query) that was about 4 % of the gateway's
 * instructions per request. Why, and the measurement: docs/performance.md, "Runtime tuning".
 *
 * It is not an EventTarget: it cannot go to AbortSignal.any() or to APIs that check the class (undici's own
 * signal option, fetch); nothing on the completion's path does either.
 */

type Listener = (event: { type: 'abort'; target: AbortSignal }) => void;

class LightSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: Listener | null = null;
  /** listeners in the order added; a once-listener is dropped as it runs */
  private listeners: Array<{ fn: Listener; once: boolean }> | undefined;

  addEventListener(type: string, fn: Listener | null, options?: boolean | { once?: boolean }): void {
    if (type !== 'abort' || fn === null || this.aborted) return;
    const list = (this.listeners ??= []);
    // as on an EventTarget, adding the same listener twice adds it once
    for (const l of list) if (l.fn === fn) return;
    list.push({ fn, once: typeof options === 'object' && options.once === true });
  }

  removeEventListener(type: string, fn: Listener | null): void {
    if (type !== 'abort' || this.listeners === undefined) return;
    const i = this.listeners.findIndex((l) => l.fn === fn);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** @internal */
  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const event = { type: 'abort' as const, target: this as unknown as AbortSignal };
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    if (this.onabort !== null) call(this.onabort, event);
    for (const l of listeners) call(l.fn, event);
  }
}

/** As an EventTarget does: a listener that throws does not stop the others, and its error is thrown uncaught. */
function call(fn: Listener, event: Parameters<Listener>[0]): void {
  try {
    fn(event);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

export class LightAbortController {
  readonly #signal = new LightSignal();

  get signal(): AbortSignal {
    return this.#signal as unknown as AbortSignal;
  }

  abort(reason?: unknown): void {
    this.#signal.fire(reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason);
  }
}

/** What the completion's owners need of a controller: a real AbortController or a LightAbortController. */
export type Aborter = Pick<AbortController, 'abort' | 'signal'>;
