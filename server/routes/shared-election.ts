import type { Logger } from 'pino';
import type { RoutePrimaryRecord } from '../store/records.ts';
import { StoreConflict, type RoutePrimaryRepository } from '../store/store.ts';
import type { RouteDecision, RouteTable } from './route-table.ts';

interface SharedElectionDeps {
  primaries: RoutePrimaryRepository;
  engine: {
    readonly routes: Pick<RouteTable, 'decisions'>;
    followRoutes(decisions: ReadonlyMap<string, RouteDecision> | undefined): void;
    onElection(listener: () => void): void;
  };
  /** This replica's id, written as the elector. */
  selfId: string;
  /** How soon a write that failed (the database is away) is tried again. */
  retryMs: number;
  logger: Logger;
}

/**
 * One route election for every replica (PostgreSQL). Each replica would otherwise elect from
 * its own view of the routers and its own history, and two replicas could send one prefix to
 * two routers. So the leader elects, from the facts every replica shares (who holds each
 * router's stream and its last health report, the presence table), and writes each result to
 * the store at once, through the change log; every other replica serves what is stored. A new
 * leader elects from the stored results, so a healthy primary stays where it is.
 *
 * A singleton job (server/replication/leader-jobs.ts): `start` when this replica leads, `stop`
 * when it no longer does. Each leadership first claims a new term (`claimTerm`) and writes
 * under it: a leader deposed without knowing it yet (its lock connection died, up to the
 * leadership timeout) has its writes refused once the next leader claimed its own, instead of
 * overwriting that leader's decisions.
 */
export class SharedElection {
  private readonly stored = new Map<string, RoutePrimaryRecord>();
  private leading = false;
  /** This leadership's term, once claimed; undefined before its first write. */
  private term: number | undefined;
  /** A newer leader claimed a term: nothing more is written until this replica leads again. */
  private deposed = false;
  private writing?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: SharedElectionDeps) {
    deps.engine.onElection(() => {
      if (this.leading) void this.publish();
    });
  }

  /** At start, before any map is sent: serve what the leader stored, until this replica leads. */
  async load(): Promise<void> {
    this.stored.clear();
    for (const r of await this.deps.primaries.list()) this.stored.set(r.key, r);
    if (!this.leading) this.deps.engine.followRoutes(this.decisions());
  }

  /** A `route` change from the log: that key's row as it is now (undefined: deleted). */
  applied(key: string, row: RoutePrimaryRecord | undefined): void {
    if (row) this.stored.set(key, row);
    else this.stored.delete(key);
    // The leader's own writes come back here; anything else (a late write of the previous
    // leader) is set right by the next publish.
    if (this.leading) void this.publish();
    else this.deps.engine.followRoutes(this.decisions());
  }

  start(): void {
    if (this.leading) return;
    this.leading = true;
    this.term = undefined;
    this.deposed = false;
    this.deps.engine.followRoutes(undefined);
    void this.publish();
  }

  async stop(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.timer);
    await this.writing;
    this.deps.engine.followRoutes(this.decisions());
  }

  /** Resolves when what this leader elected is stored (or the last write failed). */
  publish(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = this.writeLoop().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    do {
      this.again = false;
      if (!this.leading || this.deposed) return;
      try {
        // Claimed at once, before anything needs writing, so a predecessor is fenced from the start.
        this.term ??= await this.deps.primaries.claimTerm();
        const { set, remove } = this.diff();
        if (set.length === 0 && remove.length === 0) continue;
        await this.deps.primaries.write(set, remove, this.term);
        for (const r of set) this.stored.set(r.key, r);
        for (const key of remove) this.stored.delete(key);
      } catch (err) {
        if (err instanceof StoreConflict && err.code === 'store.leader_term_stale') {
          this.deposed = true;
          this.deps.logger.warn({ term: this.term }, 'route primaries not stored: a newer leader claimed its term');
          return;
        }
        this.deps.logger.warn({ err }, 'route primaries not stored; retrying');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.publish(), this.deps.retryMs);
        this.timer.unref();
        return;
      }
    } while (this.again);
  }

  /** What this leader's elections say that the store does not yet. */
  private diff(): { set: RoutePrimaryRecord[]; remove: string[] } {
    const now = this.deps.engine.routes.decisions();
    const set: RoutePrimaryRecord[] = [];
    for (const [key, d] of now) {
      const s = this.stored.get(key);
      // A new leader writes each once, under its own name.
      const same =
        s !== undefined &&
        s.nodeId === d.primary &&
        s.reason === d.reason &&
        s.changedAt === d.changedAt &&
        s.electedBy === this.deps.selfId;
      if (same) continue;
      set.push({
        key,
        ...(d.primary !== undefined && { nodeId: d.primary }),
        reason: d.reason,
        changedAt: d.changedAt,
        electedBy: this.deps.selfId,
      });
    }
    const remove = [...this.stored.keys()].filter((key) => !now.has(key));
    return { set, remove };
  }

  private decisions(): Map<string, RouteDecision> {
    const out = new Map<string, RouteDecision>();
    for (const [key, r] of this.stored) out.set(key, { primary: r.nodeId, reason: r.reason, changedAt: r.changedAt });
    return out;
  }
}
