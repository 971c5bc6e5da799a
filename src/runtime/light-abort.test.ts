import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LightAbortController } from './light-abort.js';

describe('LightAbortController', () => {
  it('calls each abort listener once, in order, with onabort first; a removed one is not called', () => {
    const c = new LightAbortController();
    const calls: string[] = [];
    const a = (): number => calls.push('a');
    const b = (): number => calls.push('b');
    const gone = (): number => calls.push('gone');
    c.signal.onabort = () => calls.push('onabort');
    c.signal.addEventListener('abort', a);
    c.signal.addEventListener('abort', a); // the same listener twice counts once
    c.signal.addEventListener('abort', b, { once: true });
    c.signal.addEventListener('abort', gone);
    c.signal.removeEventListener('abort', gone);
    expect(c.signal.aborted).toBe(false);
    c.abort('why');
    c.abort('again');
    expect(calls).toEqual(['onabort', 'a', 'b']);
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe('why');
    expect(() => c.signal.throwIfAborted()).toThrow('why');
  });

  it("gives an AbortError reason by default, like node's", () => {
    const c = new LightAbortController();
    c.abort();
    expect(c.signal.reason).toBeInstanceOf(DOMException);
    expect((c.signal.reason as DOMException).name).toBe('AbortError');
  });

  it("works as the signal of node's promise timers", async () => {
    const c = new LightAbortController();
    const waiting = sleep(60_000, undefined, { signal: c.signal });
    c.abort('stop');
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', cause: 'stop' });
    const done = new LightAbortController();
    await expect(sleep(1, 'ok', { signal: done.signal })).resolves.toBe('ok');
  });

  it('a throwing listener does not stop the others; its error is thrown uncaught, as from an EventTarget', async () => {
    const c = new LightAbortController();
    const calls: string[] = [];
    c.signal.addEventListener('abort', () => {
      throw new Error('listener failed');
    });
    c.signal.addEventListener('abort', () => calls.push('next'));
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    c.abort();
    expect(calls).toEqual(['next']);
    expect(await uncaught).toMatchObject({ message: 'listener failed' });
  });
});
