/**
 * The simulated OnDemand service on plain node:http: the listener, the Simulator API over the simulator's
 * state, and the split of requests between the upstream routes and the /__sim control surface.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl } from './control.js';
import { BodyTooLarge, sendJson } from './http.js';
import { toRuntime } from './options.js';
import { handleUpstream } from './routes.js';
import { SimState } from './state.js';
import type { KeyBehaviorSpec, MutableOptions, SimStats, Simulator, SimulatorOptions } from './types.js';

export class SimServer implements Simulator {
  private readonly server: Server;
  private readonly state: SimState;

  constructor(private readonly options: SimulatorOptions = {}) {
    this.state = new SimState(new Set((options.keys ?? []).filter((k) => k.length > 0)), toRuntime(options));
    this.server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => this.handle(req, res));
    this.server.headersTimeout = 66_000;
  }

  get url(): string {
    return this.state.url;
  }

  listen(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port: this.options.port ?? 0, backlog: 4096 }, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
        this.state.url = `http://${h}:${addr.port}`;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  setKeyBehavior(key: string, b: KeyBehaviorSpec): void {
    this.state.behaviors.setKey(key, b);
  }

  setAllKeysBehavior(b: KeyBehaviorSpec): void {
    this.state.behaviors.setAll(b);
  }

  reset(): void {
    this.state.reset();
  }

  setOptions(partial: MutableOptions): void {
    this.state.setOptions(partial);
  }

  forgetSessions(): number {
    return this.state.sessions.clear();
  }

  stats(): SimStats {
    return this.state.snapshot();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi === -1 ? rawUrl : rawUrl.slice(0, qi);
    const work = path.startsWith('/__sim/') ? handleControl(req, res, path, this.state) : handleUpstream(req, res, path, this.state);
    work.catch((err: unknown) => {
      if (err instanceof BodyTooLarge) sendJson(res, 413, { errorCode: 'invalid_request', message: err.message });
      else sendJson(res, 500, { errorCode: 'server_error', message: 'simulator error' });
    });
  }
}
