import type { RouteHealth, RouteRole } from '../../protocol/route-health.ts';

/** One router of one prefix, as the election sees it at this moment. */
export interface Candidate {
  nodeId: string;
  name: string;
  /** Higher wins: the node's --route-priority (0-1000, default 100), the same for all its prefixes. */
  priority: number;
  /** Joined the network at; among equal priorities the oldest router wins, as Tailscale's. */
  createdAt: number;
  approved: boolean;
  online: boolean;
  /**
   * Across replicas: the replica whose presence row vouches for this router's stream stopped
   * renewing its lease (dead, cut off from the database): down, though its row is still there.
   */
  leaseLapsedOn?: string;
  tunnel?: { up: boolean; error?: string };
  health?: RouteHealth;
  /** Eligible without a break since (ms); what preemption's hold-down counts from. */
  eligibleSince?: number;
}

/** `routes.preempt` with its hold-down: a recovered router must stay eligible this long first. */
export interface Preempt {
  holdDownMs: number;
  now: number;
}

export interface Ballot {
  role: RouteRole;
  reason: string;
}

export interface Outcome {
  primary: string | undefined;
  /** Every candidate's role and why, by node id. */
  ballots: Map<string, Ballot>;
  /** Eligible routers that are not primary, in the order they would take over. */
  standbys: string[];
  /** Why the primary is the one it is, or why there is none. */
  reason: string;
}

/**
 * One prefix's election. A router is eligible when it is approved, online, its tunnel is up and
 * its probe (if it has one) answers. The primary in office keeps the prefix while it stays
 * eligible: a router that recovers, or joins with a higher priority, does not take it back
 * (that would move every connection twice), unless `preempt` is given and it outranks the
 * primary and has been eligible for the whole hold-down, so a flapping router never takes it.
 * Otherwise the best eligible router wins: highest priority, then the oldest, then the lowest id.
 */
export function elect(candidates: readonly Candidate[], incumbent: string | undefined, preempt?: Preempt): Outcome {
  const ballots = new Map<string, Ballot>();
  const eligible: Candidate[] = [];
  for (const c of candidates) {
    const unfit = unfitness(c);
    if (unfit) ballots.set(c.nodeId, unfit);
    else eligible.push(c);
  }
  eligible.sort(rank);
  const best = eligible[0];
  const sitting = eligible.find((c) => c.nodeId === incumbent);
  const former = candidates.find((c) => c.nodeId === incumbent);
  const outranking = sitting && preempt ? eligible.filter((c) => c.priority > sitting.priority) : [];
  const challenger = outranking.find((c) => heldFor(c, preempt) >= preempt!.holdDownMs);
  let primary: Candidate | undefined;
  let reason: string;
  if (!best) {
    primary = undefined;
    reason =
      candidates.length === 0
        ? 'no router advertises it'
        : `no approved router is online and healthy${former ? ` (${former.name}: ${ballots.get(former.nodeId)?.reason})` : ''}`;
  } else if (sitting && challenger) {
    primary = challenger;
    reason = `${challenger.name} outranks ${sitting.name} (priority ${challenger.priority} > ${sitting.priority}, preempt on, healthy for the ${preempt!.holdDownMs} ms hold-down)`;
  } else if (sitting) {
    primary = sitting;
    const waiting = outranking[0];
    reason = waiting
      ? `${sitting.name} stays primary until ${waiting.name}, which outranks it, has been healthy for the ${preempt!.holdDownMs} ms hold-down`
      : `${sitting.name} stays primary while it is healthy`;
  } else if (former) {
    primary = best;
    reason = `failover from ${former.name} (${ballots.get(former.nodeId)?.reason ?? 'gone'})`;
  } else {
    primary = best;
    reason =
      eligible.length > 1
        ? `${best.name} has the highest priority (${best.priority}), then is the oldest`
        : `${best.name} is its only healthy router`;
  }
  const standbys: string[] = [];
  for (const c of eligible) {
    if (c === primary) ballots.set(c.nodeId, { role: 'primary', reason });
    else {
      standbys.push(c.nodeId);
      const waiting = primary === sitting && outranking.includes(c);
      ballots.set(c.nodeId, {
        role: 'standby',
        reason: waiting
          ? `standby: outranks ${primary!.name}, takes over once healthy for the ${preempt!.holdDownMs} ms hold-down`
          : `standby: ${primary!.name} is primary`,
      });
    }
  }
  return { primary: primary?.nodeId, ballots, standbys, reason };
}

/** What the leader replica elected for one prefix (server/routes/README.md, "Across replicas"). */
export interface Decision {
  primary: string | undefined;
  reason: string;
}

/**
 * One prefix as a replica that does not lead serves it: the leader's decision, whatever this
 * replica's own view of the routers says, since two replicas must never send one prefix to two
 * routers. The other routers' roles are this replica's view. No decision yet (the leader has
 * not written one): no primary, as a prefix with no eligible router.
 */
export function follow(candidates: readonly Candidate[], decision: Decision | undefined): Outcome {
  const primary = candidates.find((c) => c.nodeId === decision?.primary);
  const ballots = new Map<string, Ballot>();
  const eligible: Candidate[] = [];
  for (const c of candidates) {
    if (c === primary) continue;
    const unfit = unfitness(c);
    if (unfit) ballots.set(c.nodeId, unfit);
    else eligible.push(c);
  }
  eligible.sort(rank);
  const reason = decision?.reason ?? 'not elected yet: the leader replica has not decided';
  if (primary) ballots.set(primary.nodeId, { role: 'primary', reason });
  for (const c of eligible) {
    ballots.set(c.nodeId, {
      role: 'standby',
      reason: primary ? `standby: ${primary.name} is primary` : 'standby: the leader replica elected no primary',
    });
  }
  return { primary: primary?.nodeId, ballots, standbys: eligible.map((c) => c.nodeId), reason };
}

/** Takeover order: highest priority, then the oldest, then the lowest id. */
function rank(a: Candidate, b: Candidate): number {
  return (
    b.priority - a.priority || a.createdAt - b.createdAt || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0)
  );
}

/** How long a candidate has been eligible without a break, in ms. */
function heldFor(c: Candidate, preempt: Preempt | undefined): number {
  return preempt ? preempt.now - (c.eligibleSince ?? preempt.now) : 0;
}

/** Why a router cannot carry the prefix now; undefined when it can. */
export function unfitness(c: Candidate): Ballot | undefined {
  if (!c.approved) return { role: 'unapproved', reason: 'advertised, not approved' };
  if (!c.online) return { role: 'offline', reason: 'offline (map stream gone or silent)' };
  if (c.leaseLapsedOn !== undefined) {
    return { role: 'offline', reason: `offline (replica ${c.leaseLapsedOn} stopped renewing its stream's lease)` };
  }
  if (c.tunnel && !c.tunnel.up) {
    return { role: 'unhealthy', reason: `tunnel down${c.tunnel.error ? `: ${c.tunnel.error}` : ''}` };
  }
  if (c.health && !c.health.healthy) {
    const probe = c.health.probe ? `probe ${c.health.probe.kind} ${c.health.probe.target}` : 'probe';
    return { role: 'unhealthy', reason: `${probe} failed${c.health.error ? `: ${c.health.error}` : ''}` };
  }
  return undefined;
}
