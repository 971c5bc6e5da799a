/**
 * Plays a laid-out stream onto a response with one timer: the next write and the next heartbeat share it.
 * A client hang-up stops the timer at once.
 */
import type { ServerResponse } from 'node:http';
import type { StreamWrite } from './frames.js';

export type StreamOutcome = 'finished' | 'cut' | 'aborted';

export interface StreamRun {
  writes: StreamWrite[];
  /** what happens after the last write: end the response, destroy the socket, or go silent */
  after: 'end' | 'cut' | 'stall';
  /** 0: no periodic heartbeats */
  heartbeatMs: number;
  heartbeat: () => string;
  /** called once: finished (ended), cut (socket destroyed by us) or aborted (client closed first) */
  onEnd: (outcome: StreamOutcome) => void;
}

export function playStream(res: ServerResponse, run: StreamRun): void {
  const { writes, heartbeatMs } = run;
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  let stalled = false;
  let started = false;
  let midFrame = false;
  let nextAt = Date.now() + (writes[0]?.gap ?? 0);
  let heartbeatAt = Infinity;

  const end = (outcome: StreamOutcome): void => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    run.onEnd(outcome);
  };
  res.once('close', () => end('aborted'));

  const tick = (): void => {
    timer = undefined;
    if (ended) return;
    const now = Date.now();
    const out: Buffer[] = [];
    if (started && !stalled && !midFrame && heartbeatMs > 0 && now >= heartbeatAt) {
      out.push(Buffer.from(run.heartbeat()));
      heartbeatAt = now + heartbeatMs;
    }
    while (i < writes.length && nextAt <= now) {
      const w = writes[i++]!;
      out.push(w.data);
      midFrame = w.midFrame;
      if (!started) {
        started = true;
        heartbeatAt = now + heartbeatMs;
      }
      const next = writes[i];
      if (!next) break;
      if (w.midFrame) {
        // the other half of this frame goes in a later socket write, never coalesced with this one
        nextAt = now + next.gap;
        break;
      }
      nextAt += next.gap;
    }
    const data = out.length === 1 ? out[0] : out.length > 1 ? Buffer.concat(out) : undefined;

    if (i >= writes.length && !stalled) {
      if (run.after === 'end') {
        if (data) res.write(data);
        res.end();
        end('finished');
        return;
      }
      if (run.after === 'cut') {
        end('cut');
        const kill = (): void => void res.socket?.destroy();
        if (data) res.write(data, kill);
        else kill();
        return;
      }
      stalled = true; // stall: silence from now on, socket kept open until the client leaves
    }
    if (data) res.write(data);

    let due = i < writes.length ? nextAt : Infinity;
    if (!stalled && started && heartbeatMs > 0) due = Math.min(due, heartbeatAt);
    if (due !== Infinity) timer = setTimeout(tick, Math.max(0, due - Date.now()));
  };

  if ((writes[0]?.gap ?? 0) <= 0) tick();
  else timer = setTimeout(tick, writes[0]!.gap);
}
