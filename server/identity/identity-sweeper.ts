import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { KEEP_ENDED_MS } from './oidc/login-sessions.ts';

/** Proof nonces are kept a minute, so they are swept every minute. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Deletes what identity keeps in the store only for a while: used proof nonces past their
 * window, agents' sign-ins that ended more than KEEP_ENDED_MS ago, and console sign-ins whose
 * provider never sent the browser back. A leader job: the rows
 * are shared, so one replica sweeping is enough.
 */
export class IdentitySweeper {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sweep(): Promise<void> {
    const now = this.now();
    try {
      await this.store.proofNonces.prune(now);
      await this.store.loginSessions.prune(now - KEEP_ENDED_MS);
      await this.store.consoleSignIns.prune(now);
    } catch (err) {
      this.logger.error({ err }, 'used proof nonces and ended or abandoned sign-ins could not be deleted');
    }
  }
}
