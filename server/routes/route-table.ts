import type { PrefixView } from '../../protocol/admin.ts';
import type { RouteHealthReport, RouteState } from '../../protocol/route-health.ts';
import { isExitRoute } from '../../protocol/route.ts';
import { isoTime } from '../../protocol/time.ts';
import {
  elect,
  follow,
  unfitness,
  type Ballot,
  type Candidate,
  type Decision,
  type Outcome,
  type Preempt,
} from './election.ts';

/** A node that advertises routes, as the engine knows it now. */
export interface RouterInfo {
  nodeId: string;
  name: string;
  /** Its tags: what grants' `via` name routers by. */
  tags: readonly string[];
  /** The node's --route-priority. */
  priority: number;
  createdAt: number;
  online: boolean;
  /** The replica whose lease on its stream lapsed (election.ts Candidate). */
  leaseLapsedOn?: string;
  advertised: readonly string[];
  /** Advertised routes approved by an admin or the policy's autoApprovers. */
  approved: ReadonlySet<string>;
  /** Its last route-health report on the open stream. */
  health?: RouteHealthReport;
}

/** A prefix whose primary changed (or which lost its last one, or got its first). */
export interface PrimaryChange {
  prefix: string;
  from?: { nodeId: string; name: string };
  to?: { nodeId: string; name: string };
  reason: string;
}

/** One election's result as the leader stores it and every replica serves it, by `routeKey`. */
export interface RouteDecision extends Decision {
  changedAt: number;
}

/** What names one election: the prefix, or the prefix among a `via` grant's tags. */
export function routeKey(prefix: string, viaTags?: readonly string[]): string {
  return viaTags ? `${prefix}|${viaTags.join(',')}` : prefix;
}

interface PrefixState {
  incumbent: string | undefined;
  changedAt: number | undefined;
  outcome: Outcome;
  candidates: Candidate[];
}

interface RouteTableOptions {
  /** A recovered router with a higher priority takes its prefixes back. Off: the primary stays while healthy. */
  preempt: boolean;
  /** With preempt: how long that router must be eligible without a break first (`routes.preemptHoldDownMs`). */
  holdDownMs?: number;
  now: () => number;
}

/**
 * Every advertised subnet prefix and its elected primary. `update` runs each prefix's election
 * (election.ts) over the routers as they are now, keeping each incumbent while it is eligible,
 * and says which primaries moved. Exit routes are listed but not elected: each client chooses
 * its own exit node. The work is per router and prefix, never per pair of nodes.
 */
export class RouteTable {
  private readonly prefixes = new Map<string, PrefixState>();
  private readonly primaryOf = new Map<string, string[]>();
  private routers = new Map<string, RouterInfo>();
  /** Primaries among the routers with one of a `via` grant's tags, by `routeKey(prefix, tags)`. */
  private via = new Map<string, RouteDecision>();
  /** The leader's decisions this table serves instead of electing (a replica that does not lead). */
  private decided: ReadonlyMap<string, RouteDecision> | undefined;
  /** Since when each router has been eligible for each prefix, by `prefix|nodeId`. */
  private eligibleSince = new Map<string, number>();

  constructor(private readonly options: RouteTableOptions) {}

  /**
   * From the next `update` on: serve these decisions (the leader's, as stored) instead of
   * electing; undefined: elect, keeping the incumbents the decisions made, so a new leader
   * moves nothing that is healthy.
   */
  follow(decisions: ReadonlyMap<string, RouteDecision> | undefined): void {
    this.decided = decisions;
  }

  /** Whether this table serves another's decisions (`follow`) rather than electing. */
  get following(): boolean {
    return this.decided !== undefined;
  }

  /** Every election's result now, by `routeKey`: what the leader stores (exit routes are not elected). */
  decisions(): Map<string, RouteDecision> {
    const out = new Map<string, RouteDecision>();
    for (const [prefix, s] of this.prefixes) {
      if (isExitRoute(prefix)) continue;
      out.set(prefix, { primary: s.incumbent, reason: s.outcome.reason, changedAt: s.changedAt ?? this.options.now() });
    }
    for (const [key, d] of this.via) out.set(key, d);
    return out;
  }

  /**
   * Re-elects every prefix, and among the routers of each `via` tag set its own primary (kept
   * stable the same way); returns the changes of the main primaries, in prefix order, and
   * whether any `via` primary moved.
   */
  update(routers: Iterable<RouterInfo>, viaTagSets: ReadonlyArray<readonly string[]> = []): PrimaryChange[] {
    const changes = this.updateMain(routers);
    const via = new Map<string, RouteDecision>();
    for (const [prefix, s] of this.prefixes) {
      if (isExitRoute(prefix)) continue;
      for (const tags of viaTagSets) {
        const key = routeKey(prefix, tags);
        const among = s.candidates.filter((c) => this.routers.get(c.nodeId)?.tags.some((t) => tags.includes(t)));
        if (among.length === 0) continue;
        const before = this.via.get(key);
        const outcome = this.decided
          ? follow(among, this.decided.get(key))
          : elect(among, before?.primary, this.preemptNow());
        const changedAt =
          this.decided?.get(key)?.changedAt ??
          (before && before.primary === outcome.primary ? before.changedAt : this.options.now());
        via.set(key, { primary: outcome.primary, reason: outcome.reason, changedAt });
      }
    }
    this.viaMoved = via.size !== this.via.size || [...via].some(([k, v]) => this.via.get(k)?.primary !== v.primary);
    this.via = via;
    return changes;
  }

  /** Whether the last `update` moved a `via` primary. */
  viaMoved = false;

  /**
   * When a router that outranks a prefix's primary ends its hold-down, the soonest (ms): the
   * caller runs `update` again then, since nothing else may happen by that time.
   */
  holdDownEndsAt(): number | undefined {
    const preempt = this.preemptNow();
    if (!preempt || this.decided) return undefined;
    let soonest: number | undefined;
    for (const s of this.prefixes.values()) {
      const sitting = s.candidates.find((c) => c.nodeId === s.incumbent);
      if (!sitting) continue;
      for (const c of s.candidates) {
        if (c.priority <= sitting.priority || c.eligibleSince === undefined) continue;
        const end = c.eligibleSince + preempt.holdDownMs;
        if (end > preempt.now && (soonest === undefined || end < soonest)) soonest = end;
      }
    }
    return soonest;
  }

  private preemptNow(): Preempt | undefined {
    return this.options.preempt ? { holdDownMs: this.options.holdDownMs ?? 0, now: this.options.now() } : undefined;
  }

  /** The primary of `prefix` among the routers with one of `tags` (a `via` grant's), if any. */
  viaPrimary(prefix: string, tags: readonly string[]): string | undefined {
    return this.via.get(routeKey(prefix, tags))?.primary;
  }

  private updateMain(routers: Iterable<RouterInfo>): PrimaryChange[] {
    this.routers = new Map([...routers].map((r) => [r.nodeId, r]));
    const byPrefix = new Map<string, Candidate[]>();
    const now = this.options.now();
    const eligibleSince = new Map<string, number>();
    for (const r of this.routers.values()) {
      for (const prefix of r.advertised) {
        let list = byPrefix.get(prefix);
        if (!list) byPrefix.set(prefix, (list = []));
        const c = this.candidate(r, prefix);
        if (!unfitness(c)) {
          const key = `${prefix}|${r.nodeId}`;
          c.eligibleSince = this.eligibleSince.get(key) ?? now;
          eligibleSince.set(key, c.eligibleSince);
        }
        list.push(c);
      }
    }
    this.eligibleSince = eligibleSince;
    const changes: PrimaryChange[] = [];
    for (const prefix of [...this.prefixes.keys()]) if (!byPrefix.has(prefix)) byPrefix.set(prefix, []);
    for (const [prefix, candidates] of [...byPrefix].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const before = this.prefixes.get(prefix);
      const outcome = isExitRoute(prefix)
        ? exitOutcome(candidates, prefix)
        : this.decided
          ? follow(candidates, this.decided.get(prefix))
          : elect(candidates, before?.incumbent, this.preemptNow());
      if (candidates.length === 0) {
        this.prefixes.delete(prefix);
      } else {
        const moved = before?.incumbent !== outcome.primary;
        this.prefixes.set(prefix, {
          incumbent: outcome.primary,
          changedAt: this.decided?.get(prefix)?.changedAt ?? (moved ? this.options.now() : before?.changedAt),
          outcome,
          candidates,
        });
      }
      if ((before?.incumbent ?? undefined) !== outcome.primary) {
        changes.push({
          prefix,
          ...(before?.incumbent !== undefined && { from: this.named(before.incumbent, before.candidates) }),
          ...(outcome.primary !== undefined && { to: this.named(outcome.primary, candidates) }),
          reason: outcome.reason,
        });
      }
    }
    this.primaryOf.clear();
    for (const [prefix, s] of this.prefixes) {
      if (s.incumbent === undefined) continue;
      let list = this.primaryOf.get(s.incumbent);
      if (!list) this.primaryOf.set(s.incumbent, (list = []));
      list.push(prefix);
    }
    for (const list of this.primaryOf.values()) list.sort();
    return changes;
  }

  /** The subnet prefixes node `id` is primary for, sorted (exit routes never: they are not elected). */
  primaryRoutesOf(id: string): readonly string[] {
    return this.primaryOf.get(id) ?? NONE;
  }

  /** The primary of `prefix` now, if any. */
  primary(prefix: string): string | undefined {
    return this.prefixes.get(prefix)?.incumbent;
  }

  /** Each advertised route of node `id` and its part in the election, for its own map. */
  statesOf(id: string): RouteState[] {
    const r = this.routers.get(id);
    if (!r) return [];
    return [...r.advertised].sort().map((prefix) => {
      const s = this.prefixes.get(prefix);
      const ballot: Ballot = s?.outcome.ballots.get(id) ?? { role: 'unapproved', reason: 'not elected yet' };
      const candidate = s?.candidates.find((c) => c.nodeId === id);
      const primary = s?.incumbent !== undefined && s.incumbent !== id ? this.routers.get(s.incumbent) : undefined;
      return {
        prefix,
        role: ballot.role,
        reason: ballot.reason,
        priority: candidate?.priority ?? r.priority,
        ...(primary && { primary: primary.name }),
        ...(candidate?.health && { health: candidate.health }),
      };
    });
  }

  /** Every prefix with its primary, standbys and why (`GET /api/v1/routes`). */
  view(): PrefixView[] {
    return [...this.prefixes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([prefix, s]) => {
        const order = new Map<string, number>();
        if (s.incumbent !== undefined) order.set(s.incumbent, 0);
        s.outcome.standbys.forEach((id, i) => order.set(id, i + 1));
        const routers = [...s.candidates]
          .sort((a, b) => (order.get(a.nodeId) ?? 1e9) - (order.get(b.nodeId) ?? 1e9) || b.priority - a.priority)
          .map((c) => {
            const ballot = s.outcome.ballots.get(c.nodeId)!;
            const tunnel = this.routers.get(c.nodeId)?.health?.tunnel;
            return {
              nodeId: c.nodeId,
              name: c.name,
              role: ballot.role,
              reason: ballot.reason,
              priority: c.priority,
              online: c.online,
              ...(c.health && { health: c.health }),
              ...(tunnel && { tunnel }),
            };
          });
        const primary = s.incumbent !== undefined ? this.named(s.incumbent, s.candidates) : undefined;
        return {
          prefix,
          exitNode: isExitRoute(prefix),
          ...(primary && { primary }),
          standbys: s.outcome.standbys.map((id) => this.named(id, s.candidates).name),
          routers,
          reason: s.outcome.reason,
          ...(s.changedAt !== undefined && { changedAt: isoTime(s.changedAt) }),
        };
      });
  }

  private candidate(r: RouterInfo, prefix: string): Candidate {
    const report = r.health;
    return {
      nodeId: r.nodeId,
      name: r.name,
      priority: r.priority,
      createdAt: r.createdAt,
      approved: r.approved.has(prefix),
      online: r.online,
      ...(r.leaseLapsedOn !== undefined && { leaseLapsedOn: r.leaseLapsedOn }),
      ...(report && {
        tunnel: { up: report.tunnel === 'up', ...(report.tunnelError && { error: report.tunnelError }) },
      }),
      ...(report?.routes.find((h) => h.prefix === prefix) && {
        health: report.routes.find((h) => h.prefix === prefix),
      }),
    };
  }

  private named(id: string, candidates: readonly Candidate[]): { nodeId: string; name: string } {
    return { nodeId: id, name: candidates.find((c) => c.nodeId === id)?.name ?? this.routers.get(id)?.name ?? id };
  }
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Exit routes are not elected (each client picks its exit node): every fit exit node is listed
 * as carrying the route, and the rest with what keeps them out.
 */
function exitOutcome(candidates: readonly Candidate[], prefix: string): Outcome {
  const fit = elect(candidates, undefined);
  const ballots = new Map<string, Ballot>();
  for (const [id, b] of fit.ballots) {
    ballots.set(id, b.role === 'primary' || b.role === 'standby' ? { role: 'primary', reason: 'exit node' } : b);
  }
  const carrying = candidates.filter((c) => ballots.get(c.nodeId)?.role === 'primary').length;
  return {
    primary: undefined,
    ballots,
    standbys: [],
    reason: `${prefix} is not elected: each client picks its exit node (${carrying} of ${candidates.length} available)`,
  };
}
