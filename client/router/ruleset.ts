import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { nftQuote } from '../firewall/nft.ts';

/**
 * What a subnet router (and a gateway into the mesh) adds to the machine's packet path, as one
 * nftables script for its own table, pure text. Loaded with `nft -f`, it replaces the table in
 * one transaction. Who may reach what is not decided here: the node's inbound filter (table
 * `trellis`, client/firewall/) judges every packet that arrives on the mesh interface, forwarded
 * ones included, by the rules the server compiled from the policy. This table adds what the
 * policy cannot know:
 *  1. forward: a new flow from the mesh is forwarded only towards a prefix this node routes (a
 *     peer could put any destination in its tunnel; an allow-all grant must not make the router
 *     an open door to its LAN or the internet), and never back into the mesh;
 *  2. forward: a packet leaving into the mesh from elsewhere never carries a mesh source
 *     address (a LAN host must not pass for a mesh node, least of all this one);
 *  3. postrouting: mesh traffic into the subnet is masqueraded to the router's subnet address
 *     (unless `snat` is off: site-to-site, where the subnet routes the mesh ranges back);
 *  4. postrouting: traffic from the gateway sources (hosts without an agent that route the mesh
 *     ranges via this node) is given this node's own mesh address, so peers accept it as this
 *     node's and the policy judges it as this node.
 */
export const ROUTER_TABLE = 'trellis_router';

export interface RouterRules {
  /** The mesh interface. */
  iface: string;
  /** Subnet routes this node forwards into from the mesh (approved, not exit routes). */
  routes: readonly Prefix[];
  /**
   * This node is an approved exit node: packets from the mesh may go anywhere the inbound
   * filter lets them (autogroup:internet), so rule 1 keeps only its no-hairpin part. The exit
   * node's own masquerade to its uplink is not this table's.
   */
  exitNode?: boolean;
  /** Masquerade mesh traffic into the routed prefixes (Tailscale's --snat-subnet-routes). */
  snat: boolean;
  /** Sources without an agent that reach the mesh through this node, masqueraded to `addresses`. */
  gatewaySources: readonly Prefix[];
  /** This node's mesh addresses (one IPv4, one IPv6), the gateway sources' new source. */
  addresses: { ipv4?: string; ipv6?: string };
  /** The mesh's ranges: no packet from elsewhere enters the mesh with a source inside them. */
  meshRanges: readonly Prefix[];
}

export function routerRuleset(r: RouterRules): string {
  const mesh = nftQuote(r.iface);
  const sets = [
    set('routed4', 4, r.routes),
    set('routed6', 6, r.routes),
    set('mesh4', 4, r.meshRanges),
    set('mesh6', 6, r.meshRanges),
    set('gateway4', 4, r.gatewaySources),
    set('gateway6', 6, r.gatewaySources),
  ];
  const gateway = (family: 4 | 6) => {
    const address = family === 4 ? r.addresses.ipv4 : r.addresses.ipv6;
    const has = r.gatewaySources.some((p) => p.family === family);
    if (!has || !address) return [];
    const kw = family === 4 ? 'ip' : 'ip6';
    return [`    iifname != ${mesh} oifname ${mesh} ${kw} saddr @gateway${family} snat ${kw} to ${address}`];
  };
  return [
    `add table inet ${ROUTER_TABLE}`,
    `delete table inet ${ROUTER_TABLE}`,
    `table inet ${ROUTER_TABLE} {`,
    ...sets.flat(),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    // Replies (to the gateway sources' flows, de-masqueraded to a LAN address by now) and the
    // rest of flows whose first packet passed.
    '    ct state established,related accept',
    `    iifname ${mesh} oifname ${mesh} counter drop`,
    ...(r.exitNode
      ? []
      : [
          `    iifname ${mesh} meta nfproto ipv4 ip daddr != @routed4 counter drop`,
          `    iifname ${mesh} meta nfproto ipv6 ip6 daddr != @routed6 counter drop`,
        ]),
    `    iifname != ${mesh} oifname ${mesh} ip saddr @mesh4 counter drop`,
    `    iifname != ${mesh} oifname ${mesh} ip6 saddr @mesh6 counter drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...(r.snat
      ? [
          `    iifname ${mesh} oifname != ${mesh} ip daddr @routed4 masquerade`,
          `    iifname ${mesh} oifname != ${mesh} ip6 daddr @routed6 masquerade`,
        ]
      : []),
    ...gateway(4),
    ...gateway(6),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** A named interval set of one family; nft takes no empty `elements = { }`, so an empty set has none. */
function set(name: string, family: 4 | 6, prefixes: readonly Prefix[]): string[] {
  const elements = [...new Set(prefixes.filter((p) => p.family === family).map(formatPrefix))];
  return [
    `  set ${name} {`,
    // auto-merge: advertised routes may overlap (10.1.0.0/16 and 10.1.2.0/24).
    `    type ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags interval; auto-merge;`,
    ...(elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : []),
    '  }',
  ];
}
