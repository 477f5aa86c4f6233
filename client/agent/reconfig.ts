import type { FilterRule } from '../../protocol/filter.ts';
import type { RelayConfig } from '../../protocol/map.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { DeviceConfig } from '../wireguard/device.ts';
import type { PeerConfig } from '../wireguard/peer-diff.ts';
import type { RouterConfig } from '../router/router-config.ts';

/**
 * The middle layer of the agent: a pure function from the network map to what the engine must
 * make true. No I/O and no clocks, so every rule about which peer gets which address is tested
 * without a device, and control and engine never need to know each other.
 *  1. device: our private key and listen port;
 *  2. peers: one WireGuard peer per map peer with its allowed IPs and its endpoint; with the
 *     server's relay in the map, the server as a peer too, and every map peer on the relay
 *     unless the path manager found it a direct path;
 *  3. addresses: our own mesh addresses as host prefixes;
 *  4. peer routes: every peer allowed IP (the mesh ranges cover most; subnet routes are extra);
 *  5. filter: the node's inbound rules exactly as the server compiled them;
 *  6. router: what this node forwards, as the caller worked it out (client/router/router-config.ts).
 * Exit nodes (which peer keeps its exit routes, the kill switch, forwarding) are added to the
 * result by client/exit-node/exit-config.ts, as pure as this.
 */
interface MapView {
  self: SelfNode;
  peers: Iterable<Peer>;
  packetFilter: readonly FilterRule[];
  relay?: RelayConfig;
  meshRanges?: readonly string[];
}

export interface EngineConfig {
  device: DeviceConfig;
  peers: PeerConfig[];
  addresses: string[];
  /** The mesh's ranges as the map names them; absent: the engine's own (the agent's flag). */
  meshRanges?: string[];
  peerRoutes: string[];
  filter: FilterRule[];
  /** The addresses of the mesh services this node serves (client/serve/): held as its own, SYNs without a listener dropped. */
  replicaAddresses?: string[];
  /** Forwarding between the mesh and the subnets this node routes; absent: it routes nothing. */
  router?: RouterConfig;
  /** While an exit node is selected: where traffic goes, and what the kill switch lets by. */
  exitNode?: EngineExitNode;
  /** This node is an approved exit node: forward and masquerade for the mesh. */
  gateway?: boolean;
}

export interface EngineExitNode {
  /** Its name (or what the user asked for, while no exit node on offer matches). */
  name: string;
  /** Its mesh addresses (bare): DNS goes there. Empty while none matches: DNS is blocked. */
  resolvers: string[];
  /** Families it routes now (none while it is offline); the others are unreachable. */
  families: Array<4 | 6>;
  allowLan: boolean;
  /** The control server's and relay's addresses: the agent's own traffic outside the tunnel. */
  bypass: string[];
}

interface ReconfigOptions {
  privateKey: string;
  listenPort: number;
  /** Seconds; 0 (default) leaves keepalives off, as NAT-free paths do not need them. */
  persistentKeepalive?: number;
  /**
   * The control server's address (an IP, resolved by the caller): with the relay's `udpPort`,
   * the relay endpoint when the map does not name one.
   */
  serverHost?: string;
  /**
   * Peers on a direct path (client/paths), by WireGuard key: their endpoint there. With a relay,
   * every other peer goes through it.
   */
  directPaths?: ReadonlyMap<string, string>;
  /**
   * Peers whose path a trial is trying right now (WireGuard keys): their endpoint is left as the
   * trial set it, or an apply computed meanwhile would point them back at the relay mid-trial.
   */
  trials?: ReadonlySet<string>;
  /**
   * Where WireGuard reaches the relay instead of its UDP port (the WebSocket bridge's local
   * endpoint, client/paths/ws-bridge.ts): for the server peer and every peer on the relay.
   */
  relayEndpoint?: string;
  /** What this node forwards (client/router/router-config.ts); absent: nothing. */
  router?: RouterConfig;
}

/** Keeps the server tunnel (and this node's NAT mapping, shared with relayed peers) alive. */
export const SERVER_KEEPALIVE_S = 25;

export function reconfig(map: MapView, options: ReconfigOptions): EngineConfig {
  const peers: PeerConfig[] = [];
  const seen = new Set<string>([map.self.wireguardKey]);
  const relay = relayPeer(map.relay, options.serverHost, options.relayEndpoint);
  if (relay && !seen.has(relay.publicKey)) {
    // The server as a peer: it learns our public mapping from this tunnel and relays for us only
    // while it is up. No allowed IPs: nothing of the mesh is routed to it.
    peers.push(relay);
    seen.add(relay.publicKey);
  }
  for (const p of [...map.peers].sort((a, b) => a.id.localeCompare(b.id))) {
    // A key listed twice (or our own) would make the device config ambiguous; the first wins.
    if (seen.has(p.wireguardKey)) continue;
    seen.add(p.wireguardKey);
    // With a relay, a peer starts there (reachable within a round trip to the server, whatever
    // NATs lie between) until the path manager finds it a direct path.
    const endpoint = !relay
      ? p.endpoints[0]
      : options.trials?.has(p.wireguardKey)
        ? undefined
        : (options.directPaths?.get(p.wireguardKey) ?? relay.endpoint);
    peers.push({
      publicKey: p.wireguardKey,
      allowedIPs: [...p.allowedIPs],
      ...(endpoint !== undefined && { endpoint }),
      ...(options.persistentKeepalive ? { persistentKeepalive: options.persistentKeepalive } : {}),
    });
  }
  return {
    device: { privateKey: options.privateKey, listenPort: options.listenPort },
    peers,
    addresses: hostPrefixes(map.self),
    ...(map.meshRanges && { meshRanges: [...map.meshRanges] }),
    peerRoutes: [...new Set(peers.flatMap((p) => p.allowedIPs))].sort(),
    filter: [...map.packetFilter],
    ...(options.router && { router: options.router }),
  };
}

/** The server as a WireGuard peer, when the map has a relay key and we know where it listens. */
export function relayPeer(
  relay: RelayConfig | undefined,
  serverHost: string | undefined,
  override?: string,
): PeerConfig | undefined {
  if (!relay?.wireguardKey || relay.udpPort <= 0) return undefined;
  const host = serverHost?.includes(':') && !serverHost.startsWith('[') ? `[${serverHost}]` : serverHost;
  const endpoint = override ?? relay.endpoint ?? (host !== undefined ? `${host}:${relay.udpPort}` : undefined);
  if (endpoint === undefined) return undefined;
  return { publicKey: relay.wireguardKey, allowedIPs: [], endpoint, persistentKeepalive: SERVER_KEEPALIVE_S };
}

function hostPrefixes(self: SelfNode): string[] {
  const withBits = (ip: string, bits: number) => (ip.includes('/') ? ip : `${ip}/${bits}`);
  return [withBits(self.ipv4, 32), withBits(self.ipv6, 128)].filter((a) => !a.startsWith('/'));
}
