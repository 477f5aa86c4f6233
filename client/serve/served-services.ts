import type { DnsConfig } from '../../protocol/map.ts';
import type { SelfNode } from '../../protocol/node.ts';
import type { RouteProbeSpec } from '../router/probe-spec.ts';
import type { RouteRole } from '../../protocol/route-health.ts';

/**
 * `trellis up --serve NAME[=tcp:PORT]`: this node is a replica of the mesh service NAME (one of
 * the server's `services`, an HA name such as `kube`). Pure: from what was asked and the map,
 * which services this node serves, at which addresses, and how far the server got with it.
 */
export interface ServeSpec {
  /** The service's name, a DNS label (`kube`). */
  name: string;
  /** TCP port checked on the service's address: the replica is healthy while something answers there. */
  probePort?: number;
}

export interface ServedService {
  name: string;
  ipv4: string;
  ipv6: string;
  /** `ipv4/32` and `ipv6/128`: what the replica advertises, and the election gives to one replica. */
  prefixes: string[];
  probePort?: number;
  /** The server approved both prefixes for this node (its tags are among the service's servedBy). */
  approved: boolean;
  /** This replica's part in the election of the service's IPv4 prefix; absent before the server says. */
  role?: RouteRole;
  reason?: string;
}

/** The services asked for that the map names, and the names it does not know (yet). */
export function servedServices(
  specs: readonly ServeSpec[],
  dns: DnsConfig | undefined,
  self: SelfNode | undefined,
): { served: ServedService[]; unknown: string[] } {
  const records = new Map((dns?.services ?? []).map((s) => [s.name, s.addresses]));
  const served: ServedService[] = [];
  const unknown: string[] = [];
  for (const spec of specs) {
    const addresses = records.get(spec.name);
    const ipv4 = addresses?.find((a) => !a.includes(':'));
    const ipv6 = addresses?.find((a) => a.includes(':'));
    if (ipv4 === undefined || ipv6 === undefined) {
      unknown.push(spec.name);
      continue;
    }
    const prefixes = [`${ipv4}/32`, `${ipv6}/128`];
    const state = self?.routes?.find((r) => r.prefix === prefixes[0]);
    served.push({
      name: spec.name,
      ipv4,
      ipv6,
      prefixes,
      ...(spec.probePort !== undefined && { probePort: spec.probePort }),
      approved: prefixes.every((p) => self?.approvedRoutes.includes(p) === true),
      ...(state && { role: state.role, reason: state.reason }),
    });
  }
  return { served, unknown };
}

/**
 * The routes to advertise: the node's own subnet routes, then the service prefixes (the server
 * approves those for the servedBy tags only).
 */
export function advertisedWithServices(own: readonly string[], served: readonly ServedService[]): string[] {
  return [...new Set([...own, ...served.flatMap((s) => s.prefixes)])];
}

/** A served service's health probe: its port on its own address, once per family. */
export function serviceProbes(served: readonly ServedService[]): RouteProbeSpec[] {
  return served.flatMap((s) =>
    s.probePort === undefined
      ? []
      : [
          { prefix: s.prefixes[0]!, probe: { kind: 'tcp' as const, target: `${s.ipv4}:${s.probePort}` } },
          { prefix: s.prefixes[1]!, probe: { kind: 'tcp' as const, target: `[${s.ipv6}]:${s.probePort}` } },
        ],
  );
}
