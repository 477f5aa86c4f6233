import type { EngineConfig, EngineExitNode } from '../agent/reconfig.ts';
import type { FilterRule } from '../../protocol/filter.ts';
import type { SelfNode } from '../../protocol/node.ts';
import { isExitRoute } from '../../protocol/route.ts';
import { exitRoutesOf, withoutExitRoutes, type ExitChoice } from './choose.ts';
import { exitDnsRule } from './exit-dns-rule.ts';

/**
 * Exit nodes in the engine's configuration, after reconfig (agent/reconfig.ts), as pure:
 *  - exit routes (0.0.0.0/0, ::/0) go only to the peer chosen as this node's exit node (from
 *    its `exitRoutes`; never from other peers' allowed IPs, as servers before protocol 9 sent):
 *    WireGuard gives an allowed IP to the last peer set with it, so two exit nodes on offer
 *    would otherwise fight over it, and an exit node not chosen must carry nothing;
 *  - with a choice (even one no peer matches) come the kill switch and policy routing; while
 *    the exit node is offline its families are unreachable (blocked, and refused at once);
 *  - an approved exit route of our own makes this node a gateway: forwarding, masquerade, and
 *    its resolver's port for the nodes the policy lets use it.
 */
interface ExitMap {
  self: Pick<SelfNode, 'approvedRoutes'>;
  packetFilter: readonly FilterRule[];
  meshRanges?: readonly string[];
}

export interface ExitUse {
  choice: ExitChoice;
  allowLan: boolean;
  /** The control server's and relay's addresses. */
  bypass: readonly string[];
}

export function withExitNodes(
  config: EngineConfig,
  map: ExitMap,
  use: ExitUse | undefined,
  peerKey: (peerId: string) => string | undefined,
  meshRanges: readonly string[],
): EngineConfig {
  const chosen = use?.choice.peer;
  const chosenKey = chosen && peerKey(chosen.id);
  const peers = config.peers.map((p) => {
    const allowedIPs = withoutExitRoutes(p.allowedIPs);
    return { ...p, allowedIPs: p.publicKey === chosenKey ? [...allowedIPs, ...exitRoutesOf(chosen!)] : allowedIPs };
  });
  const gateway = map.self.approvedRoutes.some(isExitRoute);
  const dnsRule =
    gateway &&
    exitDnsRule(
      map.packetFilter,
      { addresses: config.addresses.map((a) => a.split('/')[0]!), approvedRoutes: map.self.approvedRoutes },
      map.meshRanges ?? meshRanges,
    );
  return {
    ...config,
    peers,
    peerRoutes: [...new Set(peers.flatMap((p) => p.allowedIPs))].sort(),
    filter: [...config.filter, ...(dnsRule ? [dnsRule] : [])],
    ...(use && { exitNode: engineExitNode(use) }),
    gateway,
  };
}

function engineExitNode(use: ExitUse): EngineExitNode {
  const peer = use.choice.peer;
  return {
    name: peer?.name ?? use.choice.wanted,
    resolvers: peer ? peer.addresses.map((a) => a.split('/')[0]!) : [],
    // Offline, it routes nothing: connections fail at once instead of waiting on a dead tunnel.
    families: peer?.online === false ? [] : [...use.choice.families].sort(),
    allowLan: use.allowLan,
    bypass: [...use.bypass],
  };
}
