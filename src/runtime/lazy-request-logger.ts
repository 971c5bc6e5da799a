/**
 * Fastify's `childLoggerFactory` with the request's child logger (pino's `child`, with the request id bound) built on
 * the first line the request logs at an enabled level, not for every request: at the shipped LOG_LEVEL most requests
 * log nothing. The lines are the ones the child would have written (the same child, made later). Why, and the
 * measurement: docs/performance.md, "Runtime tuning".
 */
import type { FastifyBaseLogger } from 'fastify';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type PinoLike = FastifyBaseLogger & { levels?: { values?: Record<string, number> } };

class LazyChildLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: PinoLike,
    private readonly bindings: Record<string, unknown>,
    private readonly options: { level?: string },
  ) {}

  private real(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  /** what the child's level would be: the route's, else the parent's */
  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  private enabled(method: Method): boolean {
    if (this.#child !== undefined) return true;
    const values = this.parent.levels?.values;
    const wanted = values?.[method];
    const current = values?.[this.level];
    // a logger without pino's level table: build the child and let it decide
    return wanted === undefined || current === undefined || wanted >= current;
  }

  private log(method: Method, args: unknown[]): void {
    if (!this.enabled(method)) return;
    (this.real()[method] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.log('error', args);
  }
  warn(...args: unknown[]): void {
    this.log('warn', args);
  }
  info(...args: unknown[]): void {
    this.log('info', args);
  }
  debug(...args: unknown[]): void {
    this.log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.log('trace', args);
  }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Record<string, unknown>, options: { level?: string }): FastifyBaseLogger {
  return new LazyChildLogger(logger as PinoLike, bindings, options) as unknown as FastifyBaseLogger;
}
