import type { Logger } from 'pino';
import type { PresenceRepository } from '../store/store.ts';

interface LeaseWatchDeps {
  presence: Pick<PresenceRepository, 'lapsedLeases'>;
  engine: { setLapsedLeases(lapsed: ReadonlyMap<string, string>): void };
  /** How often the lapsed leases are read: a third of `replica.routerLeaseMs`, as the renewals. */
  everyMs: number;
  logger: Logger;
}

/**
 * On the leader (a singleton job, server/replication/leader-jobs.ts): which routers' presence
 * leases lapsed, read from the database every `everyMs` and handed to the engine, whose
 * election then takes them for down. The holding replica renews a router's lease while it holds
 * the stream and reaches the database (server/replication/router-leases.ts), so a lapse means
 * that replica died, or was cut off, with the router's row still standing: its routes move to a
 * standby within a lease, not after `replica.deadAfterMs`. The database's clock decides, so the
 * replicas' clocks need not agree.
 */
export class RouterLeaseWatch {
  private timer?: NodeJS.Timeout;
  private checking = false;
  private running = false;
  /** The lapses last told of, `nodeId -> replicaId`: each is logged once. */
  private lapsed = new Map<string, string>();

  constructor(private readonly deps: LeaseWatchDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.timer = setInterval(() => void this.check(), this.deps.everyMs);
    this.timer.unref();
    void this.check();
  }

  /** No longer leading: the next leader reads the leases afresh; this replica follows its decisions. */
  stop(): void {
    this.running = false;
    clearInterval(this.timer);
    this.lapsed = new Map();
    this.deps.engine.setLapsedLeases(this.lapsed);
  }

  /** One read; a failed one keeps the last answer (a leader cut off from the database loses its lock anyway). */
  async check(): Promise<void> {
    if (this.checking || !this.running) return;
    this.checking = true;
    try {
      const rows = await this.deps.presence.lapsedLeases();
      if (!this.running) return;
      const lapsed = new Map(rows.map((r) => [r.nodeId, r.replicaId]));
      for (const [nodeId, replica] of lapsed) {
        if (this.lapsed.get(nodeId) !== replica) {
          this.deps.logger.warn(
            { nodeId, replica },
            "router's presence lease lapsed: its replica stopped renewing it; its routes move to a standby",
          );
        }
      }
      this.lapsed = lapsed;
      this.deps.engine.setLapsedLeases(lapsed);
    } catch (err) {
      this.deps.logger.warn({ err }, 'lapsed router leases not read; trying again');
    } finally {
      this.checking = false;
    }
  }
}
