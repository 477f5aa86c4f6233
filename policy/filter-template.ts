/**
 * A node's packet filter with its own addresses left as a hole. Every node with the same identity
 * keys gets the same rules, sources and ports; only the destinations that are "this node" differ.
 * So the template is built once per key signature and shared, and each node's filter is the
 * template expanded with its addresses: `expandTemplate` is the one definition of that filter.
 */
import type { FilterRule, PortRange } from '../protocol/filter.ts';

export interface TemplateDst {
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

/** The filter of a node whose own addresses are `own`. */
export function expandTemplate(template: FilterTemplate, own: readonly string[]): FilterRule[] {
  const out: FilterRule[] = [];
  for (const r of template) {
    const dstPorts: FilterRule['dstPorts'] = [];
    for (const d of r.dsts) {
      for (const ip of d.ips ?? own) for (const p of d.ports) dstPorts.push({ ip, ports: { first: p.first, last: p.last } });
    }
    if (dstPorts.length === 0) continue;
    if (r.app) {
      const dsts = [...new Set(dstPorts.map((d) => d.ip))];
      out.push({ srcIPs: r.srcIPs, dstPorts: [], ipProto: r.ipProto, capGrant: [{ dsts, capMap: r.app }] });
    } else {
      out.push({ srcIPs: r.srcIPs, dstPorts, ipProto: r.ipProto });
    }
  }
  return out;
}
