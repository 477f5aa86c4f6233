import type { NetmapEngine, NodeEvent } from '../netmap/engine.ts';

/**
 * Ephemeral nodes (CI runners, pods) leave no trace: one that is offline for the grace period,
 * whether it disconnected or never connected after joining, is deleted. A singleton job: it
 * runs on the leader only (server/replication/), which hears of every node going offline on any
 * replica through its engine; a new leader gives every offline ephemeral node a full grace period.
 */
export class EphemeralReaper {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private active = false;

  constructor(
    private readonly graceMs: number,
    private readonly engine: Pick<NetmapEngine, 'onNodeEvent' | 'node' | 'nodeIds' | 'isOnline'>,
    private readonly remove: (id: string) => Promise<void>,
  ) {
    engine.onNodeEvent((e) => this.heard(e));
  }

  start(): void {
    this.active = true;
    for (const id of this.engine.nodeIds()) this.consider(id);
  }

  stop(): void {
    this.active = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private heard(e: NodeEvent): void {
    if (!this.active) return;
    if (e.type === 'node.removed' || e.type === 'node.online') this.cancel(e.nodeId);
    // A new sign-in starts the grace period again, as a disconnect does.
    else if (e.type === 'node.joined' || e.type === 'node.offline' || e.type === 'node.updated') {
      if (e.type !== 'node.updated' || this.timers.has(e.nodeId)) this.consider(e.nodeId, true);
    }
  }

  private consider(id: string, restart = false): void {
    const live = this.engine.node(id);
    if (!live?.record.ephemeral || live.online) return;
    if (restart) this.cancel(id);
    if (!this.timers.has(id)) this.schedule(id);
  }

  private schedule(id: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (!this.active || this.engine.isOnline(id)) return;
      this.remove(id).catch(() => {}); // already gone: nothing to do
    }, this.graceMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  private cancel(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }
}
