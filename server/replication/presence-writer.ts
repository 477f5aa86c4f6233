import type { Logger } from 'pino';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PresenceRecord } from '../store/records.ts';
import { StoreUnavailable, type PresenceRepository, type PresenceWrite } from '../store/store.ts';

/** Nodes per transaction: a burst of thousands of streams is a few dozen commits. */
const BATCH = 256;

interface WriterDeps {
  presence: Pick<PresenceRepository, 'write'>;
  engine: Pick<NetmapEngine, 'hasStream' | 'node' | 'onStreamPresence' | 'isRouter'>;
  selfId: string;
  /** Routers' rows are leased this long (`replica.routerLeaseMs`, router-leases.ts renews them); absent: no leases. */
  routerLeaseMs?: number;
  /** How soon a write that failed (the database is away) is tried again. */
  retryMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * Writes what this replica's own map streams say into the presence table, for the other
 * replicas: which nodes it holds, the endpoint its relay observed, the router's health. Only the
 * latest state of each node is written, in batches of one transaction each, and writes of one
 * node never overtake each other; a batch that fails stays pending and is tried again, so after
 * an outage the table says what the streams say now, not what they said during it. (A node
 * deleted meanwhile is skipped by the store, so only an unreachable database fails a batch.)
 */
export class PresenceWriter {
  private readonly since = new Map<string, number>();
  private readonly pending = new Set<string>();
  private writing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly deps: WriterDeps) {
    deps.engine.onStreamPresence((id) => this.changed(id));
  }

  /** Nodes whose presence is not written yet. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Writes this node's presence again (its row went missing). */
  rewrite(nodeId: string): void {
    this.changed(nodeId);
  }

  /** Whether this node's row is yet to be written. */
  isPending(nodeId: string): boolean {
    return this.pending.has(nodeId);
  }

  /** Resolves when nothing is pending, or the last attempt failed. */
  flush(): Promise<void> {
    if (this.stopped || this.pending.size === 0) return this.writing ?? Promise.resolve();
    this.writing ??= this.writeAll().finally(() => (this.writing = undefined));
    return this.writing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
  }

  private changed(nodeId: string): void {
    if (this.deps.engine.hasStream(nodeId)) {
      if (!this.since.has(nodeId)) this.since.set(nodeId, this.deps.now());
    } else this.since.delete(nodeId);
    this.pending.add(nodeId);
    void this.flush();
  }

  private async writeAll(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const ids: string[] = [];
      for (const id of this.pending) {
        if (ids.length === BATCH) break;
        ids.push(id);
      }
      for (const id of ids) this.pending.delete(id);
      try {
        await this.deps.presence.write(ids.map((id) => this.entryOf(id)));
      } catch (err) {
        if (!(err instanceof StoreUnavailable)) {
          await this.writeEachAlone(ids, err);
          continue;
        }
        // Pending again (a node that changed meanwhile is anyway): its latest state goes next time.
        for (const id of ids) this.pending.add(id);
        this.deps.logger.warn({ err, nodes: ids.length }, 'presence not written; retrying');
        this.timer = setTimeout(() => void this.flush(), this.deps.retryMs);
        this.timer.unref();
        return;
      }
    }
  }

  /**
   * The database answered and refused a batch: a row it will never take (a bug) must not hold
   * back every other node's, so each is written alone, and one refused alone is dropped.
   */
  private async writeEachAlone(ids: readonly string[], batchError: unknown): Promise<void> {
    this.deps.logger.error(
      { err: batchError, nodes: ids.length },
      'presence batch refused; writing its rows one by one',
    );
    for (const id of ids) {
      try {
        await this.deps.presence.write([this.entryOf(id)]);
      } catch (err) {
        // The database went away meanwhile: the batch loop waits for it.
        if (err instanceof StoreUnavailable) this.pending.add(id);
        else
          this.deps.logger.error({ err, nodeId: id }, "this node's presence is not written: the database refused it");
      }
    }
  }

  /** What the node's row should be now: its stream's presence here, or none. */
  private entryOf(nodeId: string): PresenceWrite {
    const { engine, selfId } = this.deps;
    const since = this.since.get(nodeId);
    const live = engine.node(nodeId);
    if (since === undefined || !live || !engine.hasStream(nodeId)) return { kind: 'clear', nodeId, replicaId: selfId };
    const record: PresenceRecord = {
      nodeId,
      replicaId: selfId,
      ...(live.observedEndpoint !== undefined && { observedEndpoint: live.observedEndpoint }),
      ...(live.routeHealth !== undefined && { routeHealth: live.routeHealth }),
      ...(live.paths !== undefined && { paths: live.paths }),
      since,
    };
    const leaseMs = engine.isRouter(nodeId) ? this.deps.routerLeaseMs : undefined;
    return { kind: 'set', record, ...(leaseMs !== undefined && { leaseMs }) };
  }
}
