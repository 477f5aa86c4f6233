import type { Logger } from 'pino';
import type { ConsoleSessions } from './console-sessions.ts';

const SWEEP_EVERY_MS = 3_600_000;

/**
 * Ended console sessions are refused the moment they are used; this deletes the rows of those
 * nobody comes back to, hourly, so the table holds only live sessions.
 */
export class ConsoleSessionSweeper {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    this.sessions
      .prune()
      .catch((err: unknown) => this.logger.error({ err }, 'ended console sessions could not be deleted'));
  }
}
