/**
 * reachFrom: everything a source (a node, a user, a group, a tag, ...) may reach, destination by
 * destination, with the rules that grant it. Read from the same compiled rules as evaluate, so
 * the two never disagree: each access listed here is one evaluate accepts.
 */
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { prefixRange } from '../protocol/ip/range.ts';
import { listCovers } from './address-match.ts';
import type { Position } from './diagnostics.ts';
import { protoName, summary } from './evaluate.ts';
import { destinationsOn } from './filter-template.ts';
import type { PortRange } from './model.ts';
import type { PolicyNetwork } from './network.ts';
import type { NodeEntry } from './node-index.ts';
import { formatPorts } from './ports.ts';
import { principalMatches } from './principal.ts';
import { PolicyQueryError } from './query-error.ts';
import { parseSelector } from './selector.ts';

interface NodeRef {
  id: string;
  name: string;
}

export interface ReachRule {
  at: Position;
  origin: 'acl' | 'grant';
  summary: string;
}

export interface Reach {
  dst: NodeRef;
  /** The destination's addresses or routes the access applies to. */
  addresses: string[];
  ports: string;
  protos: string;
  rules: ReachRule[];
  /** The source's nodes that have this access. */
  from: NodeRef[];
}

const ref = (e: NodeEntry): NodeRef => ({ id: e.node.id, name: e.node.name });

/**
 * The nodes a source stands for: a node by name or id, else the nodes a selector matches as a
 * rule's source would (a user's or group's untagged devices, a tag's nodes, `*`, an address).
 */
export function sourceNodes(network: PolicyNetwork, src: string): NodeRef[] {
  const state = network.internal;
  const byName = state.entry(src) ?? [...state.nodes.values()].find((e) => e.node.name === src);
  if (byName) return [ref(byName)];
  const policy = network.policy;
  const parsed = parseSelector(src, { groups: policy.groups, tags: policy.tagOwners, hosts: policy.hosts });
  if (!parsed.ok)
    throw new PolicyQueryError('policy.unknown_node', `no node "${src}", and not a selector: ${parsed.message}`);
  const out: NodeRef[] = [];
  for (const e of state.nodes.values()) {
    const n = e.node;
    const addresses = [n.ipv4, n.ipv6].filter((a) => a !== '');
    const matches = addresses.some((a) => {
      const p = parsePrefix(a);
      return p.ok && principalMatches(policy, parsed.selector, { ...principalOf(e), range: prefixRange(p.value) });
    });
    if (matches || (addresses.length === 0 && principalMatches(policy, parsed.selector, principalOf(e))))
      out.push(ref(e));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function principalOf(e: NodeEntry) {
  const n = e.node;
  return {
    ...(n.user !== undefined && { user: n.user }),
    ...(n.idpGroups !== undefined && { idpGroups: n.idpGroups }),
    tags: n.tags,
    label: n.name,
  };
}

function mergePorts(list: PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const p of [...list].sort((a, b) => a.first - b.first)) {
    const last = out[out.length - 1];
    if (last && p.first <= last.last + 1) last.last = Math.max(last.last, p.last);
    else out.push({ ...p });
  }
  return out;
}

/** What the source nodes may reach, one entry per destination and (ports, protocols), rules merged. */
export function reachFrom(network: PolicyNetwork, sources: readonly NodeRef[]): Reach[] {
  const state = network.internal;
  const srcEntries = sources.map((s) => state.entry(s.id)).filter((e): e is NodeEntry => e !== undefined);
  const out = new Map<string, Reach>();
  for (const dst of [...state.nodes.values()].sort((a, b) => a.node.name.localeCompare(b.node.name))) {
    for (const r of state.rulesReaching(dst.node.id)) {
      if (r.app) continue;
      const allowed = state.sourcesFor(r, dst);
      const from = srcEntries.filter(
        (s) =>
          s.node.id !== dst.node.id &&
          s.keys.addresses.length > 0 &&
          s.keys.addresses.every((a) => listCovers(allowed, a)),
      );
      if (from.length === 0) continue;
      const entries = destinationsOn(r, dst.keys);
      if (entries.length === 0) continue;
      const ports = formatPorts(mergePorts(entries.map((d) => d.ports)));
      const protos = r.rule.protos.map(protoName).join(',');
      const fromRefs = from.map(ref);
      const key = JSON.stringify([dst.node.id, ports, protos, fromRefs.map((f) => f.id)]);
      const rule = { at: r.rule.at, origin: r.rule.origin, summary: summary(r) };
      const addresses = [...new Set(entries.map((d) => d.ip))];
      const seen = out.get(key);
      if (seen) {
        seen.rules.push(rule);
        for (const a of addresses) if (!seen.addresses.includes(a)) seen.addresses.push(a);
      } else out.set(key, { dst: ref(dst), addresses, ports, protos, rules: [rule], from: fromRefs });
    }
  }
  return [...out.values()];
}
