import { isIP } from 'node:net';
import type { Peer } from '../../protocol/node.ts';
import { isExitRoute } from '../../protocol/route.ts';

/**
 * Which peer is this node's exit node. Pure: the map's peers, what the user asked for, and the
 * measured latencies in; a choice out.
 *  - An exit node on offer is a peer with `exitRoutes` (protocol 9): the server sends them once
 *    approved, and only to the nodes `autogroup:internet` lets use that exit node. A server
 *    before protocol 9 put approved exit routes in every viewer's allowed IPs: read those too.
 *  - A name or an address picks that peer. Gone from the offer or offline, it stays chosen:
 *    the kill switch keeps traffic blocked until it is back or the user chooses otherwise.
 *  - `auto` picks the online exit node with the lowest measured latency (unmeasured ones
 *    last, then by name), and keeps it while it stays online: a better one appearing is no
 *    reason to break every connection. When it goes offline, the next best takes over; with
 *    none online the last one stays chosen, blocked.
 */
export const AUTO = 'auto';

export interface ExitChoice {
  /** What the user asked for: a name, an address or `auto`. */
  wanted: string;
  /** The exit node in use; absent when none on offer matches (then traffic is blocked). */
  peer?: Peer;
  /** Which families the chosen peer routes. */
  families: ReadonlySet<4 | 6>;
}

/** The exit routes `p` offers this node (0.0.0.0/0, ::/0). */
export function exitRoutesOf(p: Peer): string[] {
  return [...new Set([...(p.exitRoutes ?? []), ...p.allowedIPs].filter(isExitRoute))];
}

export function offersExit(p: Peer): boolean {
  return exitRoutesOf(p).length > 0;
}

export function exitFamilies(p: Peer | undefined): Set<4 | 6> {
  return new Set(p ? exitRoutesOf(p).map((r) => (r === '::/0' ? 6 : 4)) : []);
}

/** The peer `wanted` names (a name, or one of its mesh addresses), among all peers. */
export function matchPeer(wanted: string, peers: Iterable<Peer>): Peer | undefined {
  const bare = (a: string) => a.replace(/\/(32|128)$/, '');
  const byAddress = isIP(wanted) !== 0;
  const name = wanted.toLowerCase();
  for (const p of peers) {
    if (byAddress ? p.addresses.some((a) => bare(a) === wanted) : p.name.toLowerCase() === name) return p;
  }
  return undefined;
}

interface ChooseInputs {
  wanted: string;
  peers: Iterable<Peer>;
  /** The peer chosen last time (by id), so `auto` stays where it is. */
  current?: string;
  /** Measured round trip to a peer (ms), when there is one. */
  latencyMs(peerId: string): number | undefined;
}

export function chooseExitNode(i: ChooseInputs): ExitChoice {
  const peers = [...i.peers];
  const offered = peers.filter(offersExit);
  let peer: Peer | undefined;
  if (i.wanted === AUTO) {
    const current = offered.find((p) => p.id === i.current);
    const online = offered.filter((p) => p.online);
    const rank = (p: Peer) => i.latencyMs(p.id) ?? Number.POSITIVE_INFINITY;
    const best = online.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))[0];
    peer = current?.online ? current : (best ?? current);
  } else {
    const match = matchPeer(i.wanted, peers);
    peer = match && offersExit(match) ? match : undefined;
  }
  return { wanted: i.wanted, ...(peer && { peer }), families: exitFamilies(peer) };
}

/** `allowedIPs` without exit routes: only the chosen exit node's peer holds them. */
export function withoutExitRoutes(allowedIPs: readonly string[]): string[] {
  return allowedIPs.filter((r) => !isExitRoute(r));
}
