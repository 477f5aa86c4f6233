import type { Logger } from 'pino';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PresenceRecord } from '../store/records.ts';
import type { PresenceRepository } from '../store/store.ts';

const WRITES_IN_FLIGHT = 32;
/** About a minute of retries at the default pace before one node's row is given up. */
const MAX_ATTEMPTS = 60;

interface WriterDeps {
  presence: PresenceRepository;
  engine: Pick<NetmapEngine, 'hasStream' | 'node' | 'streamIds' | 'onStreamPresence'>;
  selfId: string;
  /** How soon a write that failed (the database is away) is tried again. */
  retryMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * Writes what this replica's own map streams say into the presence table, for the other
 * replicas: which nodes it holds, the endpoint its relay observed, the router's health. Only the
 * latest state of each node is written, and writes of one node never overtake each other; a
 * write that fails stays pending and is tried again, so after an outage the table says what
 * the streams say now, not what they said during it.
 */
export class PresenceWriter {
  private readonly since = new Map<string, number>();
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
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

  /** Writes every stream's presence again (after this replica's rows may have been expired). */
  rewriteAll(): void {
    for (const id of this.deps.engine.streamIds()) this.changed(id);
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
      const ids = [...this.pending].slice(0, WRITES_IN_FLIGHT);
      for (const id of ids) this.pending.delete(id);
      const results = await Promise.allSettled(ids.map((id) => this.write(id)));
      const failed = ids.filter((id, i) => results[i]!.status === 'rejected' && this.failedAgain(id));
      if (failed.length === 0) continue;
      // What failed is pending again, unless it changed meanwhile (then it is anyway).
      for (const id of failed) this.pending.add(id);
      const err = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as unknown;
      this.deps.logger.warn({ err, nodes: failed.length }, 'presence not written; retrying');
      this.timer = setTimeout(() => void this.flush(), this.deps.retryMs);
      this.timer.unref();
      return;
    }
  }

  /** Whether to try again: a row that keeps failing (its node deleted meanwhile) is given up. */
  private failedAgain(id: string): boolean {
    const n = (this.failures.get(id) ?? 0) + 1;
    if (n < MAX_ATTEMPTS) {
      this.failures.set(id, n);
      return true;
    }
    this.failures.delete(id);
    this.deps.logger.warn({ nodeId: id }, 'presence of this node given up after repeated failures');
    return false;
  }

  private async write(nodeId: string): Promise<void> {
    const { presence, engine, selfId } = this.deps;
    const since = this.since.get(nodeId);
    const live = engine.node(nodeId);
    if (since === undefined || !live || !engine.hasStream(nodeId)) {
      await presence.clear(nodeId, selfId);
      this.failures.delete(nodeId);
      return;
    }
    const row: PresenceRecord = {
      nodeId,
      replicaId: selfId,
      ...(live.observedEndpoint !== undefined && { observedEndpoint: live.observedEndpoint }),
      ...(live.routeHealth !== undefined && { routeHealth: live.routeHealth }),
      ...(live.paths !== undefined && { paths: live.paths }),
      since,
    };
    await presence.set(row);
    this.failures.delete(nodeId);
  }
}
