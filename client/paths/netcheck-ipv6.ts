import type { NetworkInterfaceInfo } from 'node:os';

/**
 * True when an interface holds a global unicast IPv6 address (2000::/3): IPv6 peers may then
 * be reachable without any NAT. Link-local, ULA (the mesh's own) and loopback do not count.
 */
export function hasGlobalIpv6(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): boolean {
  return Object.values(interfaces).some((list) =>
    (list ?? []).some((i) => i.family === 'IPv6' && !i.internal && /^[23][0-9a-f]{0,3}:/i.test(i.address)),
  );
}

/** Every address of this machine, for telling whether a mapped address is our own (no NAT). */
export function localAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): Set<string> {
  return new Set(Object.values(interfaces).flatMap((list) => (list ?? []).map((i) => i.address)));
}
