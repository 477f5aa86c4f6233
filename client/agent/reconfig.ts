import type { FilterRule } from '../../protocol/filter.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { DeviceConfig } from '../wireguard/device.ts';
import type { PeerConfig } from '../wireguard/peer-diff.ts';

/**
 * The middle layer of the agent: a pure function from the network map to what the engine must
 * make true. No I/O and no clocks, so every rule about which peer gets which address is tested
 * without a device, and control and engine never need to know each other.
 *  1. device: our private key and listen port;
 *  2. peers: one WireGuard peer per map peer with its allowed IPs and its best endpoint;
 *  3. addresses: our own mesh addresses as host prefixes;
 *  4. peer routes: every peer allowed IP (the mesh ranges cover most; subnet routes are extra);
 *  5. filter: the node's inbound rules exactly as the server compiled them.
 */
export interface MapView {
  self: SelfNode;
  peers: Iterable<Peer>;
  packetFilter: readonly FilterRule[];
}

export interface EngineConfig {
  device: DeviceConfig;
  peers: PeerConfig[];
  addresses: string[];
  peerRoutes: string[];
  filter: FilterRule[];
}

export interface ReconfigOptions {
  privateKey: string;
  listenPort: number;
  /** Seconds; 0 (default) leaves keepalives off, as NAT-free paths do not need them. */
  persistentKeepalive?: number;
}

export function reconfig(map: MapView, options: ReconfigOptions): EngineConfig {
  const peers: PeerConfig[] = [];
  const seen = new Set<string>([map.self.wireguardKey]);
  for (const p of [...map.peers].sort((a, b) => a.id.localeCompare(b.id))) {
    // A key listed twice (or our own) would make the device config ambiguous; the first wins.
    if (seen.has(p.wireguardKey)) continue;
    seen.add(p.wireguardKey);
    const endpoint = p.endpoints[0];
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
    peerRoutes: [...new Set(peers.flatMap((p) => p.allowedIPs))].sort(),
    filter: [...map.packetFilter],
  };
}

function hostPrefixes(self: SelfNode): string[] {
  const withBits = (ip: string, bits: number) => (ip.includes('/') ? ip : `${ip}/${bits}`);
  return [withBits(self.ipv4, 32), withBits(self.ipv6, 128)].filter((a) => !a.startsWith('/'));
}
