import { isExitRoute } from '../../protocol/route.ts';
import { RouteTable, type PrimaryChange, type RouterInfo } from './route-table.ts';

interface RouteElectionsOptions {
  /** `routes.preempt`: a recovered router with a higher priority takes its prefixes back. */
  preempt: boolean;
  /** `routes.preemptHoldDownMs`: how long it must stay eligible first. */
  holdDownMs: number;
  now: () => number;
  /** Runs the elections again, unprompted, when a hold-down ends (the engine's own run, maps and all). */
  rerun: () => void;
}

/** What one run of the elections moved. */
export interface ElectionRun {
  /** Prefixes whose primary changed. */
  changes: PrimaryChange[];
  /** Routers that became, or stopped being, exit nodes. */
  exitChanged: string[];
  /** This run's routers and the last run's: the nodes whose primary routes and roles may have moved. */
  touched: Set<string>;
}

/**
 * The route elections between two runs: the table (route-table.ts), which routers were its
 * candidates and which are exit nodes, which routers' presence leases lapsed (across replicas,
 * lease-watch.ts), and the timer that runs them again when a preemption hold-down ends. The
 * engine (server/netmap/engine.ts) says what the routers are now and puts what moved into the
 * maps.
 */
export class RouteElections {
  readonly table: RouteTable;
  private exitNodes = new Set<string>();
  /** The routers of the last run (a node that stops advertising must lose its routes). */
  private elected = new Set<string>();
  /** `nodeId -> replicaId` of each router whose lease that replica stopped renewing. */
  private lapsed: ReadonlyMap<string, string> = new Map();
  private holdDown: NodeJS.Timeout | undefined;

  constructor(private readonly options: RouteElectionsOptions) {
    this.table = new RouteTable({ preempt: options.preempt, holdDownMs: options.holdDownMs, now: options.now });
  }

  /** Whether node `id` had an approved exit route at the last run. */
  isExitNode(id: string): boolean {
    return this.exitNodes.has(id);
  }

  /** Replaces the lapsed leases (empty: none); true when that changes anything. */
  setLapsedLeases(lapsed: ReadonlyMap<string, string>): boolean {
    const before = this.lapsed;
    this.lapsed = lapsed;
    return before.size !== lapsed.size || [...lapsed].some(([id, replica]) => before.get(id) !== replica);
  }

  /**
   * The replica whose lease on router `id` lapsed, while `holder` (the replica whose presence
   * row of it this one follows) is that replica: a router that moved has a fresh lease.
   */
  lapsedOn(id: string, holder: string | undefined): string | undefined {
    const on = this.lapsed.get(id);
    return on !== undefined && holder === on ? on : undefined;
  }

  /** Runs every prefix's election over the routers as they are now. */
  run(routers: readonly RouterInfo[], viaTagSets: ReadonlyArray<readonly string[]>): ElectionRun {
    const changes = this.table.update(routers, viaTagSets);
    const exitNodes = new Set(routers.filter((r) => [...r.approved].some(isExitRoute)).map((r) => r.nodeId));
    const exitChanged = [...exitNodes]
      .filter((id) => !this.exitNodes.has(id))
      .concat([...this.exitNodes].filter((id) => !exitNodes.has(id)));
    this.exitNodes = exitNodes;
    const current = new Set(routers.map((r) => r.nodeId));
    const touched = new Set([...current, ...this.elected]);
    this.elected = current;
    this.scheduleHoldDown();
    return { changes, exitChanged, touched };
  }

  stop(): void {
    clearTimeout(this.holdDown);
  }

  /** A router waiting out its preemption hold-down takes its prefix when it ends, unprompted. */
  private scheduleHoldDown(): void {
    clearTimeout(this.holdDown);
    const at = this.table.holdDownEndsAt();
    if (at === undefined) return;
    this.holdDown = setTimeout(() => this.options.rerun(), Math.max(0, at - this.options.now()));
    this.holdDown.unref();
  }
}
