import { isIP } from 'node:net';
import type { LinkSettings } from './udp-port.ts';
import type { UdpAddress } from './udp-address.ts';

/** What the link needs of the replicas table (server/replication/replica-directory.ts). */
export interface ReplicaLocator {
  readonly id: string;
  holderOf(nodeId: string): { id: string; alive: boolean; relayAddress?: string } | undefined;
}

/**
 * The relay link's settings on a replica: a node is reached through another replica when the
 * replicas table says that replica, alive, holds its stream and announced a relay address. The
 * directory exists only once replication is set up, after the relay opened: until then no node
 * is elsewhere.
 */
export function replicaLink(
  secret: string,
  directory: () => ReplicaLocator | undefined,
  onPathTrial: LinkSettings['onPathTrial'],
): LinkSettings {
  const parsed = new Map<string, UdpAddress | undefined>();
  return {
    secret,
    onPathTrial,
    locate: (nodeId) => {
      const d = directory();
      const holder = d?.holderOf(nodeId);
      if (!d || !holder || holder.id === d.id || !holder.alive || holder.relayAddress === undefined) return undefined;
      if (!parsed.has(holder.relayAddress)) parsed.set(holder.relayAddress, udpAddressOf(holder.relayAddress));
      return parsed.get(holder.relayAddress);
    },
  };
}

/** `ip:port` or `[v6]:port` as a socket address; undefined for anything else. */
export function udpAddressOf(endpoint: string): UdpAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(endpoint);
  const address = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!address || !isIP(address) || !(port > 0 && port < 65536)) return undefined;
  return { address, port };
}
