/**
 * evaluate for an address behind a router: may node A reach IP:port inside an approved subnet
 * route, or on the internet through an exit node, and which router carries it? The router's
 * own compiled filter decides, as it does for the packets. Which router is primary for a prefix
 * is the server's election, so it comes in as data (`primaries`); without it, the first approved
 * router by name stands in.
 */
import { parseAddress } from '../protocol/ip/address.ts';
import { parsePrefix, prefixContains } from '../protocol/ip/prefix.ts';
import { listCovers } from './address-match.ts';
import { formatPosition } from './diagnostics.ts';
import { type Evaluation, judge, protoName, resolveProto } from './evaluate.ts';
import type { PolicyNetwork } from './network.ts';
import { PolicyQueryError } from './query-error.ts';

export interface RouteQuery {
  src: string;
  /** An IP address outside the mesh's own nodes. */
  address: string;
  port: number;
  proto?: string | number;
  /** Prefix -> the node id of its primary router, as the server elected it. */
  primaries?: ReadonlyMap<string, string>;
}

export interface RouteEvaluation extends Evaluation {
  /** The router that carries the traffic; absent when no approved route covers the address. */
  via?: { kind: 'subnet' | 'exit'; router: string; prefix: string };
}

export function evaluateRoute(network: PolicyNetwork, q: RouteQuery): RouteEvaluation {
  const state = network.internal;
  const src = state.entry(q.src);
  if (!src) throw new PolicyQueryError('policy.unknown_node', `unknown source node "${q.src}"`);
  const addr = parseAddress(q.address);
  if (!addr.ok) throw new PolicyQueryError('policy.unknown_node', `"${q.address}" is neither a node nor an IP address`);
  const proto = resolveProto(q.proto);
  const nodes = network.nodes().sort((a, b) => a.name.localeCompare(b.name));

  // The longest approved subnet route covering the address, as the nodes' routing tables pick.
  let best: { prefix: string; bits: number; routers: string[] } | undefined;
  for (const n of nodes) {
    for (const route of network.approvedRoutesOf(n.id).subnet) {
      const p = parsePrefix(route);
      if (!p.ok || !prefixContains(p.value, addr.value)) continue;
      if (!best || p.value.bits > best.bits) best = { prefix: route, bits: p.value.bits, routers: [n.id] };
      else if (p.value.bits === best.bits && route === best.prefix) best.routers.push(n.id);
    }
  }
  const deny = (reason: string): RouteEvaluation => ({
    verdict: 'deny',
    allowedBy: [],
    reasons: [reason],
    proto: protoName(proto),
  });
  if (best) {
    const primary = q.primaries?.get(best.prefix);
    const router = best.routers.find((id) => id === primary) ?? best.routers[0]!;
    const entry = state.entry(router)!;
    const target = {
      entry,
      name: `${q.address} via ${entry.node.name}`,
      onTarget: (ip: string) => listCovers([ip], q.address),
    };
    return { ...judge(network, src, target, q.port, proto), via: { kind: 'subnet', router, prefix: best.prefix } };
  }
  if (listCovers(network.meshRanges(), q.address))
    return deny(`${q.address} is inside the mesh's range, and no node has it`);

  // Not routed into a subnet: the internet, through an exit node the source may use.
  const exitPrefix = addr.value.family === 4 ? '0.0.0.0/0' : '::/0';
  const exits = nodes.filter((n) => network.approvedRoutesOf(n.id).exit.includes(exitPrefix));
  if (exits.length === 0)
    return deny(`no approved subnet route covers ${q.address}, and there is no approved exit node`);
  const usable = exits.find((n) => network.mayUseExitNode(src.node.id, n.id));
  if (!usable)
    return deny(
      `no approved subnet route covers ${q.address}; exit nodes ${exits.map((n) => n.name).join(', ')} exist, but no rule with autogroup:internet has ${src.node.name} among its sources`,
    );
  const entry = state.entry(usable.id)!;
  const target = {
    entry,
    name: `${q.address} via exit node ${usable.name}`,
    onTarget: (ip: string) => listCovers([ip], q.address),
  };
  return {
    ...judge(network, src, target, q.port, proto),
    via: { kind: 'exit', router: usable.id, prefix: exitPrefix },
  };
}

/** evaluateRoute, as text for people, like `explain`. */
export function explainRoute(network: PolicyNetwork, q: RouteQuery): string {
  const r = evaluateRoute(network, q);
  const src = network.node(q.src)?.name ?? q.src;
  const via =
    r.via && `${r.via.kind === 'exit' ? 'exit node' : 'router'} ${network.node(r.via.router)?.name} (${r.via.prefix})`;
  const head = `${r.verdict}: ${src} -> ${q.address}:${q.port}/${r.proto}${via ? ` via ${via}` : ''}`;
  if (r.verdict === 'accept')
    return [head, ...r.allowedBy.map((m) => `  allowed by ${formatPosition(m.at)}: ${m.summary}`)].join('\n');
  return [`${head}: no rule allows it`, ...r.reasons.map((s) => `  ${s}`)].join('\n');
}
