import type { Logger } from 'pino';
import type { Leadership } from './leadership.ts';

/** A periodic job that must run on one replica only. */
export interface SingletonJob {
  start(): void;
  stop(): void | Promise<void>;
}

/**
 * Runs the singleton jobs (ephemeral reaper, audit retention, console session sweeper, dead
 * replicas' presence, change-log pruning) while this replica leads, and stops them the moment
 * it stops leading: they move with the lock.
 */
export class LeaderJobs {
  private running = false;

  constructor(
    leadership: Leadership,
    private readonly jobs: ReadonlyArray<{ name: string; job: SingletonJob }>,
    private readonly logger: Logger,
  ) {
    leadership.onChange((leader) => void (leader ? this.startAll() : this.stopAll()));
  }

  private startAll(): void {
    if (this.running) return;
    this.running = true;
    for (const { name, job } of this.jobs) {
      try {
        job.start();
      } catch (err) {
        this.logger.error({ err, job: name }, 'singleton job failed to start');
      }
    }
  }

  async stopAll(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const { name, job } of [...this.jobs].reverse()) {
      try {
        await job.stop();
      } catch (err) {
        this.logger.error({ err, job: name }, 'singleton job failed to stop');
      }
    }
  }
}
