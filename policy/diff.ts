/**
 * diffAccess: the access a policy change grants and revokes, as (source node, destination node,
 * protocols, ports), for a pull request to show. Only nodes whose view changes are examined.
 */
import type { FilterRule } from '../protocol/filter.ts';
import { destinationCovers, listCovers } from './address-match.ts';
import type { Policy } from './model.ts';
import { changedViews, type NetworkOptions, PolicyNetwork } from './network.ts';
import type { PolicyNode } from './node.ts';

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

type Interval = [number, number];
const NAMES: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  132: 'sctp',
};

function normalize(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function subtract(a: Interval[], b: Interval[]): Interval[] {
  let out = normalize(a);
  for (const [clo, chi] of normalize(b)) {
    out = out.flatMap(([lo, hi]): Interval[] => {
      if (hi < clo || lo > chi) return [[lo, hi]];
      const parts: Interval[] = [];
      if (lo < clo) parts.push([lo, clo - 1]);
      if (hi > chi) parts.push([chi + 1, hi]);
      return parts;
    });
  }
  return out;
}

function formatIntervals(list: Interval[]): string {
  if (list.length === 1 && list[0]?.[0] === 0 && list[0]?.[1] === 65535) return '*';
  return list.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

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
        .filter((d) => destinationCovers(d.ip, dst.ipv4) || destinationCovers(d.ip, dst.ipv6))
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
  const out: AccessChange[] = [];
  for (const [src, protos] of from) {
    // Group protocols that change on the same ports, so TCP+UDP+ICMP read as one line.
    const byPorts = new Map<string, number[]>();
    for (const [proto, ports] of protos) {
      const lost = subtract(ports, to.get(src)?.get(proto) ?? []);
      if (lost.length === 0) continue;
      const key = formatIntervals(lost);
      byPorts.set(key, [...(byPorts.get(key) ?? []), proto]);
    }
    for (const [ports, list] of byPorts) {
      out.push({
        src: names.get(src) ?? src,
        dst: names.get(dst) ?? dst,
        protos: list
          .sort((a, b) => a - b)
          .map((p) => NAMES[p] ?? String(p))
          .join(','),
        ports,
      });
    }
  }
  return out;
}

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
  const after = new PolicyNetwork(newPolicy, options);
  before.loadNodes(nodes);
  after.loadNodes(nodes);
  const names = new Map(nodes.map((n) => [n.id, n.name]));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const granted: AccessChange[] = [];
  const revoked: AccessChange[] = [];
  let complete = true;
  for (const id of [...changedViews(before, after)].sort()) {
    if (granted.length + revoked.length >= limit) {
      complete = false;
      break;
    }
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
  return { diff: { granted: granted.sort(order), revoked: revoked.sort(order) }, complete };
}
