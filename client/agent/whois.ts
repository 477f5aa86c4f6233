import type { FilterRule } from '../../protocol/filter.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import { parsePrefix, prefixContains, isHostPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { AgentError } from './errors.ts';
import type { WhoisResponse } from './local-api/messages.ts';
import { capabilitiesOf } from './peer-capabilities.ts';

/**
 * Which node owns a mesh IP: the node whose own address it is, else the node whose allowed IPs
 * (approved subnet routes) hold it most specifically — the one WireGuard would send it to. With
 * it, the capabilities a connection from that IP holds towards this node, from this node's
 * packet filter (`filter`): what a local service asks before it serves a peer.
 */
export function whois(
  ip: string,
  self: SelfNode | undefined,
  peers: Iterable<Peer>,
  filter: readonly FilterRule[] = [],
): WhoisResponse {
  const parsed = parsePrefix(ip);
  if (!parsed.ok) throw new AgentError('agent.bad_request', `"${ip}" is not an IP address`);
  if (!isHostPrefix(parsed.value))
    throw new AgentError('agent.bad_request', `"${ip}" is a prefix; give one IP address`);
  const host = { family: parsed.value.family, value: parsed.value.address };
  const nodes: Array<{ node: Peer; self: boolean }> = [
    ...(self ? [{ node: self as Peer, self: true }] : []),
    ...[...peers].map((node) => ({ node, self: false })),
  ];
  let best: { node: Peer; self: boolean; matched: string; bits: number } | undefined;
  for (const { node, self: isSelf } of nodes) {
    for (const text of [...node.addresses, ...node.allowedIPs]) {
      const p = safePrefix(text);
      if (!p || !prefixContains(p, host)) continue;
      if (!best || p.bits > best.bits) best = { node, self: isSelf, matched: text, bits: p.bits };
    }
  }
  if (!best) throw new AgentError('agent.not_found', `no node in this node's map owns ${ip}`);
  const { node } = best;
  return {
    ip,
    node: {
      id: node.id,
      name: node.name,
      self: best.self,
      addresses: node.addresses,
      tags: node.tags,
      matched: best.matched,
      ...(node.user !== undefined && { user: node.user }),
    },
    capMap: self ? capabilitiesOf(host, self.addresses, filter) : {},
  };
}

function safePrefix(text: string): Prefix | undefined {
  const p = parsePrefix(text, { hostBits: 'keep' });
  return p.ok ? p.value : undefined;
}
