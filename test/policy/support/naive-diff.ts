/**
 * The access diff as policy/diff.ts computed it before it grouped sources into classes: every
 * destination's rules tested against every one of its peers, one pair at a time. Kept as the
 * reference the class-based diff must equal (test/policy/diff.test.ts) and as the baseline of
 * bench:policy's diff figures.
 */
import type { FilterRule } from '../../../protocol/filter.ts';
import { listCovers } from '../../../policy/address-match.ts';
import type { AccessChange, AccessDiff } from '../../../policy/diff.ts';
import type { Policy } from '../../../policy/model.ts';
import { changedViews, type NetworkOptions, PolicyNetwork } from '../../../policy/network.ts';
import type { PolicyNode } from '../../../policy/node.ts';
import { type Interval, lost } from '../../../policy/port-intervals.ts';

/** Per source node, per protocol: the ports it may reach on `dst`. */
function accessTo(net: PolicyNetwork, dst: PolicyNode, candidates: PolicyNode[]): Map<string, Map<number, Interval[]>> {
  const out = new Map<string, Map<number, Interval[]>>();
  const rules: FilterRule[] = net.filterOf(dst.id).filter((r) => !r.capGrant);
  for (const s of candidates) {
    const addresses = [s.ipv4, s.ipv6].filter((a) => a !== '');
    const perProto = new Map<number, Interval[]>();
    for (const r of rules) {
      if (addresses.length === 0 || !addresses.every((a) => listCovers(r.srcIPs, a))) continue;
      const ports = r.dstPorts
        .filter((d) => listCovers([d.ip], dst.ipv4) || listCovers([d.ip], dst.ipv6))
        .map((d): Interval => [d.ports.first, d.ports.last]);
      if (ports.length === 0) continue;
      for (const p of r.ipProto) perProto.set(p, [...(perProto.get(p) ?? []), ...ports]);
    }
    if (perProto.size > 0) out.set(s.id, perProto);
  }
  return out;
}

function changes(
  from: Map<string, Map<number, Interval[]>>,
  to: Map<string, Map<number, Interval[]>>,
  dst: string,
  names: Map<string, string>,
): AccessChange[] {
  return [...from].flatMap(([src, protos]) =>
    lost(protos, to.get(src)).map((c) => ({
      src: names.get(src) ?? src,
      dst: names.get(dst) ?? dst,
      protos: c.protos,
      ports: c.ports,
    })),
  );
}

export function naiveDiffAccess(
  oldPolicy: Policy,
  newPolicy: Policy,
  nodes: PolicyNode[],
  options?: NetworkOptions,
): AccessDiff {
  const before = new PolicyNetwork(oldPolicy, options);
  const after = new PolicyNetwork(newPolicy, options);
  before.loadNodes(nodes);
  after.loadNodes(nodes);
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const granted: AccessChange[] = [];
  const revoked: AccessChange[] = [];
  for (const id of [...changedViews(before, after)].sort()) {
    const dst = byId.get(id);
    if (!dst) continue;
    // Whoever may reach a node is among its peers.
    const candidates = [...new Set([...before.peersOf(id), ...after.peersOf(id)])]
      .map((p) => byId.get(p))
      .filter((n): n is PolicyNode => n !== undefined);
    const was = accessTo(before, dst, candidates);
    const now = accessTo(after, dst, candidates);
    granted.push(...changes(now, was, id, names));
    revoked.push(...changes(was, now, id, names));
  }
  const order = (a: AccessChange, b: AccessChange) =>
    a.src.localeCompare(b.src) || a.dst.localeCompare(b.dst) || a.protos.localeCompare(b.protos);
  return { granted: granted.sort(order), revoked: revoked.sort(order) };
}
