/**
 * A node's packet filter with its own addresses left as a hole. Every node with the same identity
 * keys gets the same rules, sources and ports; only the destinations that are "this node" differ.
 * So the template is built once per key signature and shared, and each node's filter is the
 * template expanded with its addresses: `expandTemplate` is the one definition of that filter.
 */
import type { FilterRule, PortRange } from '../protocol/filter.ts';
import { formatPrefix, parsePrefix } from '../protocol/ip/prefix.ts';
import type { CompiledRule } from './compiled.ts';
import { INTERNET_PREFIXES } from './mesh.ts';
import type { NodeKeys } from './node-keys.ts';

const ANY_DESTINATION: readonly string[] = ['*'];

interface TemplateDst {
  /** Literal destinations (`*`, a prefix), or `null`: each of the node's own addresses. */
  ips: readonly string[] | null;
  ports: readonly PortRange[];
}

export interface TemplateRule {
  srcIPs: string[];
  dsts: TemplateDst[];
  ipProto: number[];
  /** Application capabilities: the rule grants these on its destinations instead of packets. */
  app?: Record<string, unknown[]>;
}

export type FilterTemplate = readonly TemplateRule[];

/** The destinations of rule `r` on a node with these keys; `ips: null` are the node's own addresses. */
export function templateDestinations(r: CompiledRule, keys: NodeKeys): TemplateDst[] {
  const out: TemplateDst[] = [];
  for (const d of r.dsts) {
    let ips: readonly string[] | null;
    if (d.kind === 'self') {
      if (!keys.selfUser) continue;
      ips = null;
    } else if (!keys.dst.has(d.key)) continue;
    else if (d.kind === 'any') ips = ANY_DESTINATION;
    else if (d.kind === 'identity') ips = null;
    else if (d.kind === 'prefix') ips = [d.prefix as string];
    else ips = INTERNET_PREFIXES;
    out.push({ ips, ports: d.ports });
  }
  return out;
}

/** The destination addresses of rule `r` on a node with these keys, with the ports of each. */
export function destinationsOn(r: CompiledRule, keys: NodeKeys): FilterRule['dstPorts'] {
  return expandDestinations(templateDestinations(r, keys), keys.addresses);
}

function expandDestinations(dsts: readonly TemplateDst[], own: readonly string[]): FilterRule['dstPorts'] {
  const out: FilterRule['dstPorts'] = [];
  for (const d of dsts) {
    for (const ip of d.ips ?? own) for (const p of d.ports) out.push({ ip, ports: { first: p.first, last: p.last } });
  }
  return out;
}

/**
 * Where a capability grant applies, as Tailscale writes `CapGrant.Dsts`: prefixes, a host as
 * `/32` or `/128`, and `*` narrowed to the node's own addresses (a capability is held towards a
 * node, never towards "anything").
 */
function capabilityDestinations(dsts: readonly TemplateDst[], own: readonly string[]): string[] {
  const out = new Set<string>();
  for (const d of dsts) {
    const ips = d.ips === null || d.ips === ANY_DESTINATION ? own : d.ips;
    for (const ip of ips) {
      const p = parsePrefix(ip);
      out.add(p.ok ? formatPrefix(p.value) : ip);
    }
  }
  return [...out];
}

/** The filter of a node whose own addresses are `own`. */
export function expandTemplate(template: FilterTemplate, own: readonly string[]): FilterRule[] {
  const out: FilterRule[] = [];
  for (const r of template) {
    if (r.app) {
      const dsts = capabilityDestinations(r.dsts, own);
      if (dsts.length > 0)
        out.push({ srcIPs: r.srcIPs, dstPorts: [], ipProto: r.ipProto, capGrant: [{ dsts, capMap: r.app }] });
      continue;
    }
    const dstPorts = expandDestinations(r.dsts, own);
    if (dstPorts.length > 0) out.push({ srcIPs: r.srcIPs, dstPorts, ipProto: r.ipProto });
  }
  return out;
}
