import { networkInterfaces } from 'node:os';
import { parseAddress } from '../../protocol/ip/address.ts';
import { parsePrefix, prefixContains, type Prefix } from '../../protocol/ip/prefix.ts';
import { prefixOrThrow } from '../netconf/prefix.ts';
import type { CandidateContext } from '../paths/candidates.ts';

/**
 * This node's endpoint candidates for its peers: every address of its other interfaces with
 * the WireGuard port. Loopback, link-local, mesh addresses and container bridges are useless to
 * a peer (or would route WireGuard into itself) and are left out. IPv4 first: it is the likelier direct path.
 */
export function localEndpoints(
  listenPort: number,
  meshIface: string,
  meshRanges: readonly string[],
  max = 16,
): string[] {
  const ranges = meshRanges.map((r) => prefixOrThrow(r));
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === meshIface || HOST_ONLY.test(name)) continue;
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && (a.address.toLowerCase().startsWith('fe80') || a.scopeid)) continue;
      if (inside(ranges, a.address)) continue;
      if (a.family === 'IPv4') v4.push(`${a.address}:${listenPort}`);
      else v6.push(`[${a.address}]:${listenPort}`);
    }
  }
  return [...v4, ...v6].slice(0, max);
}

/**
 * Bridges and veths of containers and VMs on this machine: every Docker host has a 172.17.0.1,
 * so another's would look like a peer on our own link and waste a trial slot.
 */
const HOST_ONLY = /^(docker\d*|br-[0-9a-f]{12}|veth|virbr|cni|flannel|cali|cilium_|kube-|podman)/;

/** This machine's own links (address with prefix length), the mesh interface and loopback left out. */
function localSubnets(meshIface: string, meshRanges: readonly string[]): string[] {
  const ranges = meshRanges.map((r) => prefixOrThrow(r));
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === meshIface || HOST_ONLY.test(name)) continue;
    for (const a of addrs ?? []) {
      if (a.internal || !a.cidr || a.address.toLowerCase().startsWith('fe80') || inside(ranges, a.address)) continue;
      out.push(a.cidr);
    }
  }
  return out;
}

/** What a path trial needs to know of this machine's links (client/paths/candidates.ts). */
export function candidateContext(
  listenPort: number,
  meshIface: string,
  meshRanges: readonly string[],
): CandidateContext {
  return {
    isOnLink: onLinkMatcher(localSubnets(meshIface, meshRanges)),
    hasIPv6: localEndpoints(listenPort, meshIface, meshRanges).some((e) => e.startsWith('[')),
  };
}

/** A test for "this `ip:port` / `[ipv6]:port` endpoint is on one of these links". */
export function onLinkMatcher(subnets: readonly string[]): (endpoint: string) => boolean {
  const links = subnets.flatMap((s) => {
    const p = parsePrefix(s, { hostBits: 'keep' });
    return p.ok ? [p.value] : [];
  });
  return (endpoint) => {
    const ip = endpoint.startsWith('[')
      ? endpoint.slice(1, endpoint.indexOf(']'))
      : endpoint.slice(0, endpoint.lastIndexOf(':'));
    const host = parseAddress(ip);
    return host.ok && links.some((l) => prefixContains(l, host.value));
  };
}

function inside(ranges: readonly Prefix[], ip: string): boolean {
  const host = parseAddress(ip);
  return host.ok && ranges.some((r) => prefixContains(r, host.value));
}
