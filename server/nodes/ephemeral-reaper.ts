/**
 * Ephemeral nodes (CI runners, pods) leave no trace: one that is offline for the grace period,
 * whether it disconnected or never connected after joining, is deleted.
 */
export class EphemeralReaper {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly isOnline: (id: string) => boolean,
    private readonly remove: (id: string) => Promise<void>,
  ) {}

  /** Starts (or restarts) the grace period of an offline ephemeral node. */
  schedule(id: string): void {
    this.cancel(id);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (this.isOnline(id)) return;
      this.remove(id).catch(() => {}); // already gone: nothing to do
    }, this.graceMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  cancel(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
