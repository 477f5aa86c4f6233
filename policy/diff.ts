/**
 * diffAccess: the access a policy change grants and revokes, as (source node, destination node,
 * protocols, ports), for a pull request or the console to show. Only nodes whose view changes are
 * examined, and their sources are not judged one by one: nodes that every rule's source list
 * either covers or not alike (a user's devices, a tag's servers) form one class, each distinct
 * destination rule set (old and new) is judged once per class, and each pair only reads its
 * class's answer. Work grows with rule sets times classes, not with node pairs times rules.
 */
import type { FilterRule } from '../protocol/filter.ts';
import { addressValues, destinationCoversValue } from './address-match.ts';
import type { Policy } from './model.ts';
import { type NetworkOptions, PolicyNetwork, viewCandidates } from './network.ts';
import type { PolicyNode } from './node.ts';
import { type Interval, lost } from './port-intervals.ts';
import { SourceClasses } from './source-classes.ts';

export interface AccessChange {
  src: string;
  dst: string;
  /** Protocol names, such as `tcp` or `tcp,udp,icmp,ipv6-icmp`. */
  protos: string;
  /** Ports, such as `22` or `80,443` or `*`. */
  ports: string;
}

export interface AccessDiff {
  granted: AccessChange[];
  revoked: AccessChange[];
}

/** A destination's filter rule as the diff reads it: whose sources (a list index), which protocols, which ports. */
interface AccessRule {
  list: number;
  protos: number[];
  ports: Interval[];
}

/**
 * How many changed destinations a bounded diff judges first (then four times as many, and so
 * on): one, since a destination's sources are the costly part (a change to every node of a
 * large network finds a summary's worth of lines in the first one or two).
 */
const FIRST_BATCH = 1;

type ClassChange = {
  granted: Array<{ ports: string; protos: string }>;
  revoked: Array<{ ports: string; protos: string }>;
};

export function diffAccess(
  oldPolicy: Policy,
  newPolicy: Policy,
  nodes: PolicyNode[],
  options?: NetworkOptions,
): AccessDiff {
  return diffAccessUpTo(oldPolicy, newPolicy, nodes, Infinity, options).diff;
}

/**
 * The access diff, but only until `limit` changes are found: what a summary needs (an audit
 * note shows a few dozen lines). A policy change that touches every node of a large network has
 * millions of changes, and listing them all would hold up the change itself. `complete` says
 * whether the diff is the whole of it.
 */
export function diffAccessUpTo(
  oldPolicy: Policy,
  newPolicy: Policy,
  nodes: PolicyNode[],
  limit: number,
  options?: NetworkOptions,
): { diff: AccessDiff; complete: boolean } {
  const before = new PolicyNetwork(oldPolicy, options);
  before.loadNodes(nodes);
  return diffNetworksUpTo(before, before.withPolicy(newPolicy), limit);
}

/**
 * The bounded access diff between two networks over the same nodes under two policies (one
 * derived from the other with `withPolicy`): a server that holds its live network diffs without
 * indexing every node again. Neither network may change while this runs.
 */
export function diffNetworksUpTo(
  before: PolicyNetwork,
  after: PolicyNetwork,
  limit: number,
): { diff: AccessDiff; complete: boolean } {
  const views = viewCandidates(before, after);

  const granted: AccessChange[] = [];
  const revoked: AccessChange[] = [];
  let complete = true;
  // Destinations in batches, each with classes of its own sources that tell apart every source
  // list of its rules, which judges the batch exactly. The whole diff is one batch; a bounded
  // one starts small and grows, so a change to every node of a large network reads only as many
  // destinations as its summary shows, instead of comparing every node's view.
  let next = 0;
  let size = Number.isFinite(limit) ? FIRST_BATCH : Infinity;
  batches: while (next < views.candidates.length) {
    const batch: PolicyNode[] = [];
    while (next < views.candidates.length && batch.length < size) {
      const id = views.candidates[next++]!;
      const dst = after.node(id);
      if (dst && views.changed(id)) batch.push(dst);
    }
    // Whoever may reach a node is among its peers: only they need a class.
    const sources = new Map(
      batch.map((dst) => [dst.id, new Set([...before.peersOf(dst.id), ...after.peersOf(dst.id)])]),
    );
    const classes = new SourceClasses(
      [...new Set([...sources.values()].flatMap((peers) => [...peers]))].flatMap((id) => after.node(id) ?? []),
    );
    const rules = batch.map((dst) => ({
      dst,
      was: accessRules(before, dst, classes),
      now: accessRules(after, dst, classes),
    }));
    classes.seal();
    const judged = new Map<string, Map<number, ClassChange>>();
    for (const { dst, was, now } of rules) {
      if (granted.length + revoked.length >= limit) {
        complete = false;
        break batches;
      }
      const ruleSet = `${was.key}|${now.key}`;
      let byClass = judged.get(ruleSet);
      if (!byClass) judged.set(ruleSet, (byClass = new Map()));
      for (const src of sources.get(dst.id)!) {
        const cls = classes.classOf(src);
        if (cls === undefined) continue;
        let change = byClass.get(cls);
        if (!change) {
          const members = classes.members(cls);
          const old = accessOf(was.rules, members);
          const neu = accessOf(now.rules, members);
          byClass.set(cls, (change = { granted: lost(neu, old), revoked: lost(old, neu) }));
        }
        const srcName = after.node(src)?.name ?? src;
        const dstName = dst.name;
        for (const c of change.granted) granted.push({ src: srcName, dst: dstName, protos: c.protos, ports: c.ports });
        for (const c of change.revoked) revoked.push({ src: srcName, dst: dstName, protos: c.protos, ports: c.ports });
      }
    }
    size *= 4;
  }
  const order = (a: AccessChange, b: AccessChange) =>
    a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst) || a.protos.localeCompare(b.protos);
  return { diff: { granted: granted.sort(order), revoked: revoked.sort(order) }, complete };
}

/** The destination's filter as rules over source lists, and a key equal for equal rule sets. */
function accessRules(
  net: PolicyNetwork,
  dst: PolicyNode,
  classes: SourceClasses,
): { rules: AccessRule[]; key: string } {
  const rules: AccessRule[] = [];
  const own = addressValues([dst.ipv4, dst.ipv6]);
  for (const r of net.filterOf(dst.id) as FilterRule[]) {
    if (r.capGrant) continue;
    const ports = r.dstPorts
      .filter((d) => own.some((a) => destinationCoversValue(d.ip, a)))
      .map((d): Interval => [d.ports.first, d.ports.last]);
    if (ports.length > 0) rules.push({ list: classes.listIndex(r.srcIPs), protos: r.ipProto, ports });
  }
  return { rules, key: JSON.stringify(rules.map((r) => [r.list, r.protos, r.ports])) };
}

/** Per protocol, the ports a source covered by the lists `members` may reach under `rules`. */
function accessOf(rules: AccessRule[], members: ReadonlySet<number>): Map<number, Interval[]> {
  const perProto = new Map<number, Interval[]>();
  for (const r of rules) {
    if (!members.has(r.list)) continue;
    for (const p of r.protos) perProto.set(p, [...(perProto.get(p) ?? []), ...r.ports]);
  }
  return perProto;
}
