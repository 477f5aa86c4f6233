import type { Logger } from 'pino';
import type { ChangeLog } from '../store/store.ts';
import type { ReplicaEntry } from './replica-directory.ts';

const HOUR_MS = 3_600_000;

interface PrunerDeps {
  changes: ChangeLog;
  /** Every replica in the replicas table, as last read (the live ones' applied seqs bound the pruning). */
  replicas: () => readonly ReplicaEntry[];
  retentionHours: number;
  everyMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * On the leader: deletes change-log rows older than `replica.changeRetentionHours`, but never a
 * row a live replica has yet to apply. A replica that was away longer (stopped, cut off) finds
 * its seq below the log's horizon when it comes back and reloads everything instead of
 * replaying (change-follower.ts).
 */
export class ChangeLogPruner {
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: PrunerDeps) {}

  start(): void {
    if (this.timer) return;
    void this.prune();
    this.timer = setInterval(() => void this.prune(), this.deps.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; resolves with how many rows went (0 when it failed: logged, tried again next time). */
  async prune(): Promise<number> {
    try {
      const before = await this.cutoff();
      const gone = await this.deps.changes.prune(before);
      if (gone > 0) this.deps.logger.info({ gone, before: new Date(before).toISOString() }, 'change log pruned');
      return gone;
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not prune the change log; trying again later');
      return 0;
    }
  }

  /**
   * Rows written before this time go: the retention's bound, or the time of the first change
   * the slowest live replica has not applied, whichever is earlier.
   */
  private async cutoff(): Promise<number> {
    const byAge = this.deps.now() - this.deps.retentionHours * HOUR_MS;
    const live = this.deps.replicas().filter((r) => r.alive);
    if (live.length === 0) return byAge;
    const slowest = Math.min(...live.map((r) => r.appliedSeq));
    const [next] = await this.deps.changes.since(slowest, 1);
    return next ? Math.min(byAge, next.at) : byAge;
  }
}
