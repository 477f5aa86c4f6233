import type { Logger } from 'pino';
import type { SelfNode } from '../../protocol/node.ts';
import { Backoff } from '../control/backoff.ts';
import { unverifiedExpiry } from '../identity/jwt-shape.ts';
import type { TokenSource } from '../identity/token-source.ts';

/**
 * Keeps a workload node registered: its key expires with the token it joined with, so each new
 * token (the file rotated, the Workload API issued a fresh SVID) is registered at once, with the
 * same machine key, which keeps the node and its addresses. Between events it reads the source
 * again often enough to catch a missed one: at its poll interval, and never later than halfway
 * to the node's expiry. A failed registration is retried with backoff; a token that is not
 * renewed while expiry nears is logged, because the node leaves its peers' maps at expiry.
 */
interface RenewalOptions {
  source: TokenSource;
  /** Registers with a token; resolves to the node (its keyExpiry says when to renew). */
  register: (token: string) => Promise<SelfNode>;
  logger: Logger;
  now?: () => number;
  /** Upper bound between reads when the source gives no poll interval (default 60 s). */
  maxIntervalMs?: number;
}

export interface RenewalStatus {
  source: string;
  lastRenewal?: string;
  expiresAt?: string;
  lastError?: string;
}

export class WorkloadRenewal {
  private lastToken: string;
  private expiresAt: number | undefined;
  private lastRenewal: number | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private warned = false;
  private readonly backoff = new Backoff(1_000, 30_000);
  private readonly now: () => number;

  /** `registered`: the registration that just succeeded with the source's current token, if any. */
  constructor(
    private readonly o: RenewalOptions,
    registered?: { token: string; self: SelfNode },
  ) {
    this.now = o.now ?? Date.now;
    this.lastToken = registered?.token ?? '';
    if (registered) this.noteRegistered(registered.token, registered.self);
  }

  start(): void {
    this.unwatch = this.o.source.watch(() => this.check());
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unwatch?.();
    this.o.source.close?.();
  }

  status(): RenewalStatus {
    return {
      source: this.o.source.description,
      ...(this.lastRenewal !== undefined && { lastRenewal: new Date(this.lastRenewal).toISOString() }),
      ...(this.expiresAt !== undefined && { expiresAt: new Date(this.expiresAt).toISOString() }),
      ...(this.lastError && { lastError: this.lastError }),
    };
  }

  /** Reads the source now and registers if the token changed; overlapping calls coalesce. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.once().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.check();
      }
    });
    return this.running;
  }

  private async once(): Promise<void> {
    clearTimeout(this.timer);
    let delay: number | undefined;
    try {
      const token = await this.o.source.read();
      if (token === this.lastToken) {
        this.warnIfStale();
      } else {
        const self = await this.o.register(token);
        this.lastToken = token;
        this.noteRegistered(token, self);
        this.o.logger.info(
          { source: this.o.source.description, keyExpiry: self.keyExpiry },
          'registered again with a fresh workload token',
        );
      }
      this.lastError = undefined;
      this.backoff.reset();
    } catch (err) {
      this.lastError = (err as Error).message;
      delay = this.backoff.next();
      this.o.logger.warn(
        { source: this.o.source.description, code: (err as { code?: string }).code, retryInMs: delay },
        `workload token renewal failed: ${this.lastError}`,
      );
    }
    this.schedule(delay);
  }

  private noteRegistered(token: string, self: SelfNode): void {
    this.lastRenewal = this.now();
    this.expiresAt = self.keyExpiry ? Date.parse(self.keyExpiry) : unverifiedExpiry(token);
    this.warned = false;
  }

  /** The next read: the poll interval, but never later than halfway to the node's expiry. */
  private schedule(delay?: number): void {
    if (this.stopped) return;
    const poll = Math.min(this.o.source.pollMs, this.o.maxIntervalMs ?? 60_000);
    const half = this.expiresAt === undefined ? poll : Math.max(1_000, (this.expiresAt - this.now()) / 2);
    this.timer = setTimeout(() => void this.check(), delay ?? Math.min(poll, half));
    this.timer.unref();
  }

  private warnIfStale(): void {
    if (this.warned || this.expiresAt === undefined) return;
    const left = this.expiresAt - this.now();
    if (left > 60_000) return;
    this.warned = true;
    this.o.logger.warn(
      { source: this.o.source.description, expiresAt: new Date(this.expiresAt).toISOString() },
      `the ${this.o.source.description} still holds the token this node registered with; the node leaves the mesh at expiry unless it is renewed`,
    );
  }
}
