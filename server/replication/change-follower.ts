import type { Logger } from 'pino';

/** What the follower reads of the store's change log (server/store/store.ts `ChangeLog`). */
export interface ChangeFeed {
  head(): Promise<number>;
  since(seq: number, limit: number): Promise<FollowedChange[]>;
  watch(onHint: (seq: number) => void): () => void;
  /** The largest seq pruned: a reader below it has missed changes. */
  horizon(): Promise<number>;
}

export interface FollowedChange {
  seq: number;
  at: number;
  kind: string;
  id: string;
}

interface FollowerDeps {
  feed: ChangeFeed;
  /** Applies a batch of changes in seq order; re-reads each entity, so applying twice is harmless. */
  apply: (changes: readonly FollowedChange[]) => Promise<void>;
  /** Reloads everything (the log was pruned past what this replica applied). */
  reload: () => Promise<void>;
  /** The poll that catches what a lost hint would miss. */
  pollMs: number;
  now: () => number;
  logger: Logger;
  /** After each batch applied (metrics, the replicas table). */
  onApplied?: (seq: number, changes: readonly FollowedChange[]) => void;
}

const BATCH = 500;

/**
 * Keeps this replica's caches in step with the database: reads the change log from the last
 * sequence number it applied, in order, whenever a hint says there is more (NOTIFY on
 * PostgreSQL) and at every poll. A hint carries nothing but "look": a hint that never arrives,
 * or a listening connection that reconnects, delays a change by one poll at most and never
 * loses it. One catch-up runs at a time; hints that arrive meanwhile make it go round once more.
 */
export class ChangeFollower {
  private applied: number;
  private known: number;
  private running?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private unwatch?: () => void;
  private stopped = false;
  private failing: Error | undefined;

  /** `from`: the seq of the log's head read before the caches were loaded from the database. */
  constructor(
    private readonly deps: FollowerDeps,
    from: number,
  ) {
    this.applied = from;
    this.known = from;
  }

  /** The last seq applied to the caches. */
  get appliedSeq(): number {
    return this.applied;
  }

  /** The newest seq a hint or a read has shown exists: `headSeq - appliedSeq` is the lag. */
  get headSeq(): number {
    return Math.max(this.known, this.applied);
  }

  /** Why the last catch-up failed (the database is away), until one succeeds. */
  get error(): Error | undefined {
    return this.failing;
  }

  start(): void {
    this.unwatch = this.deps.feed.watch((seq) => {
      if (seq > this.known) this.known = seq;
      void this.wake();
    });
    this.timer = setInterval(() => void this.wake(), this.deps.pollMs);
    this.timer.unref();
    void this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    clearInterval(this.timer);
    await this.running;
  }

  /** Reads and applies what the log holds past the applied seq; resolves when caught up (or failed). */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.catchUp();
        if (this.failing) this.deps.logger.info({ seq: this.applied }, 'change log reachable again; caught up');
        this.failing = undefined;
      } catch (err) {
        if (!this.failing) this.deps.logger.warn({ err, seq: this.applied }, 'cannot read the change log; retrying');
        this.failing = err as Error;
        return; // the next hint or poll tries again from the same seq
      }
    } while (this.again && !this.stopped);
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const batch = await this.deps.feed.since(this.applied, BATCH);
      if (batch.length === 0) return;
      if (batch[0]!.seq > this.applied + 1 && (await this.reloadIfPruned())) continue;
      await this.deps.apply(batch);
      const last = batch[batch.length - 1]!.seq;
      this.applied = last;
      if (last > this.known) this.known = last;
      this.deps.onApplied?.(last, batch);
      if (batch.length < BATCH) return;
    }
  }

  /** A gap after the applied seq is either rolled-back writes or pruned rows; pruned means reload. */
  private async reloadIfPruned(): Promise<boolean> {
    const horizon = await this.deps.feed.horizon();
    if (horizon <= this.applied) return false;
    this.deps.logger.warn(
      { applied: this.applied, horizon },
      'the change log was pruned past what this replica applied; reloading everything',
    );
    const head = await this.deps.feed.head();
    await this.deps.reload();
    this.applied = Math.max(this.applied, head);
    return true;
  }
}
