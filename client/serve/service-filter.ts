import type { FilterRule } from '../../protocol/filter.ts';
import { parseAddress } from '../../protocol/ip/address.ts';
import { parsePrefix, prefixContains } from '../../protocol/ip/prefix.ts';
import type { ServedService } from './served-services.ts';

/**
 * The inbound rules with the served services' addresses as this node's own: a service address
 * is this node under another name, so whatever a rule lets a source reach on this node's
 * address it may reach on the service's (the grant to `tag:k8s-proxy` covers `kube`). Only the
 * destinations that hold this node's address gain the service's beside them; capability grants
 * are left as they are (whois answers for the node, whichever of its addresses was dialled).
 */
export function withServiceDestinations(
  rules: readonly FilterRule[],
  self: { ipv4: string; ipv6: string },
  served: readonly ServedService[],
): FilterRule[] {
  if (served.length === 0) return [...rules];
  const own = [self.ipv4, self.ipv6].map((a) => parseAddress(a.split('/')[0]!)).flatMap((r) => (r.ok ? [r.value] : []));
  return rules.map((rule) => {
    const extra = rule.dstPorts.flatMap((d) => {
      if (d.ip === '*') return [];
      const p = parsePrefix(d.ip);
      if (!p.ok) return []; // the firewall compiler refuses it with its location
      const holdsSelf = own.some((a) => a.family === p.value.family && prefixContains(p.value, a));
      if (!holdsSelf) return [];
      return served
        .map((s) => (p.value.family === 4 ? s.ipv4 : s.ipv6))
        .filter((ip) => {
          const a = parseAddress(ip);
          return a.ok && !prefixContains(p.value, a.value);
        })
        .map((ip) => ({ ip, ports: d.ports }));
    });
    return extra.length === 0 ? rule : { ...rule, dstPorts: [...rule.dstPorts, ...extra] };
  });
}
