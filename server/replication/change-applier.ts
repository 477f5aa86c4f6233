import type { Logger } from 'pino';
import { RouteHealthReport } from '../../protocol/route-health.ts';
import { PathSummary } from '../../protocol/path-report.ts';
import type { UserService } from '../admin/user-service.ts';
import type { NetmapEngine } from '../netmap/engine.ts';
import type { PolicyService } from '../policies/policy-service.ts';
import type { NodeRecord, PresenceRecord, RoutePrimaryRecord, UserRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { FollowedChange } from './change-follower.ts';

interface ApplierDeps {
  store: Pick<Store, 'nodes' | 'users' | 'presence' | 'routePrimaries'>;
  engine: NetmapEngine;
  users: UserService;
  policies: PolicyService;
  /** The mesh CAs (server/pki/): they keep the rows in memory, so a rotation elsewhere reloads them. */
  authorities: { reload(): Promise<void> };
  /** The route election shared by the replicas (PostgreSQL); absent on SQLite, where the one server elects. */
  routes?: { applied(key: string, row: RoutePrimaryRecord | undefined): void; load(): Promise<void> };
  /** This replica's id: its own presence rows say nothing it does not know. */
  selfId: string;
  logger: Logger;
}

/** How many rows one batch reads at once. */
const READS_IN_FLIGHT = 16;

/**
 * Applies changes from the log to this replica's caches. A change names an entity, never its
 * data: the entity's current row is read (absent: deleted) and handed to the engine's existing
 * upsert or remove, exactly as the service that wrote it did on its own replica. Reading the
 * current row makes a change applied twice, or after a later one, converge on the same state;
 * the rows of a batch are read concurrently and applied in seq order.
 */
export class ChangeApplier {
  constructor(private readonly deps: ApplierDeps) {}

  async apply(changes: readonly FollowedChange[]): Promise<void> {
    const latest = lastOfEach(changes);
    const reads = await inBatches(latest, READS_IN_FLIGHT, (c) => this.read(c));
    for (let i = 0; i < latest.length; i++) await this.applyOne(latest[i]!, reads[i]);
  }

  /** Everything again, as at start: nodes and users upserted or removed, presence, the policy and the CAs. */
  async reload(): Promise<void> {
    const { store, engine } = this.deps;
    const [users, nodes, presence] = await Promise.all([store.users.list(), store.nodes.list(), store.presence.list()]);
    for (const u of users) this.applyUser(u.id, u);
    const stored = new Set(nodes.map((n) => n.id));
    for (const n of nodes) this.applyNode(n.id, n);
    for (const id of engine.nodeIds()) if (!stored.has(id)) engine.removeNode(id, 'deleted');
    const held = new Map(presence.map((p) => [p.nodeId, p]));
    for (const id of engine.nodeIds()) this.applyPresence(id, held.get(id));
    await this.deps.policies.follow();
    await this.deps.authorities.reload();
    await this.deps.routes?.load();
  }

  /** At start: the presence other live replicas hold (the engine was loaded with every node offline). */
  async loadPresence(replicas: ReadonlySet<string>): Promise<void> {
    for (const p of await this.deps.store.presence.list()) {
      if (replicas.has(p.replicaId)) this.applyPresence(p.nodeId, p);
    }
  }

  private read(c: FollowedChange): Promise<unknown> {
    const { store } = this.deps;
    if (c.kind === 'node') return store.nodes.get(c.id);
    if (c.kind === 'user') return store.users.get(c.id);
    if (c.kind === 'presence') return store.presence.get(c.id);
    if (c.kind === 'route' && this.deps.routes) return store.routePrimaries.get(c.id);
    return Promise.resolve(undefined);
  }

  private async applyOne(c: FollowedChange, row: unknown): Promise<void> {
    if (c.kind === 'node') this.applyNode(c.id, row as NodeRecord | undefined);
    else if (c.kind === 'user') await this.applyUserChange(c.id, row as UserRecord | undefined);
    else if (c.kind === 'presence') this.applyPresence(c.id, row as PresenceRecord | undefined);
    else if (c.kind === 'policy') await this.deps.policies.follow();
    else if (c.kind === 'authority') await this.deps.authorities.reload();
    else if (c.kind === 'route') this.deps.routes?.applied(c.id, row as RoutePrimaryRecord | undefined);
    // Kinds from a newer server are not ours.
    else this.deps.logger.debug({ kind: c.kind, id: c.id }, 'change of a kind with no cache here');
  }

  private applyNode(id: string, row: NodeRecord | undefined): void {
    const { engine } = this.deps;
    if (!row) {
      engine.removeNode(id, 'deleted');
      return;
    }
    // Its own writes come back from the log: unchanged, they would only resend the node.
    const live = engine.node(id)?.record;
    if (live && JSON.stringify(live) === JSON.stringify(row)) return;
    engine.upsertNode(row);
  }

  private async applyUserChange(id: string, row: UserRecord | undefined): Promise<void> {
    if (row) {
      this.applyUser(id, row);
      return;
    }
    // A deleted user takes their nodes with them (a cascade, which logs nothing of its own).
    this.deps.users.forget(id);
    const { engine, store } = this.deps;
    for (const nodeId of engine.nodeIdsOwnedBy(id)) {
      if (!(await store.nodes.get(nodeId))) engine.removeNode(nodeId, 'deleted');
    }
  }

  private applyUser(id: string, row: UserRecord): void {
    this.deps.users.remember(row);
    this.deps.engine.upsertUser(row);
  }

  private applyPresence(nodeId: string, row: PresenceRecord | undefined): void {
    if (!row || row.replicaId === this.deps.selfId) {
      this.deps.engine.setRemotePresence(nodeId, undefined);
      return;
    }
    const health = RouteHealthReport.safeParse(row.routeHealth);
    const paths = PathSummary.safeParse(row.paths);
    this.deps.engine.setRemotePresence(nodeId, {
      replicaId: row.replicaId,
      ...(row.observedEndpoint !== undefined && { observedEndpoint: row.observedEndpoint }),
      ...(health.success && { routeHealth: health.data }),
      ...(paths.success && { paths: paths.data }),
    });
  }
}

/** The last change of each entity, in seq order: the earlier ones would read the same row. */
function lastOfEach(changes: readonly FollowedChange[]): FollowedChange[] {
  const last = new Map<string, FollowedChange>();
  for (const c of changes) {
    const key = `${c.kind}\u0000${c.id}`;
    last.delete(key);
    last.set(key, c);
  }
  return [...last.values()];
}

async function inBatches<T, R>(items: readonly T[], size: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(f))));
  return out;
}
