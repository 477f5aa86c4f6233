import { describe, expect, it } from 'vitest';
import { prefixOrThrow } from '../../../client/netconf/prefix.ts';
import { routerRuleset, type RouterRules } from '../../../client/router/ruleset.ts';

const p = (t: string) => prefixOrThrow(t);
const RULES: RouterRules = {
  iface: 'trellis0',
  routes: [p('10.1.0.0/24'), p('fd00:1::/64')],
  snat: true,
  gatewaySources: [],
  addresses: { ipv4: '100.64.0.5', ipv6: 'fd7a:115c:a1e0::5' },
  meshRanges: [p('100.64.0.0/10'), p('fd7a:115c:a1e0::/48')],
};

describe("the subnet router's nftables table", () => {
  it('replaces its own table in one transaction', () => {
    expect(routerRuleset(RULES).split('\n').slice(0, 3)).toEqual([
      'add table inet trellis_router',
      'delete table inet trellis_router',
      'table inet trellis_router {',
    ]);
  });

  it('forwards new flows from the mesh only into the routed prefixes, never back into the mesh', () => {
    const text = routerRuleset(RULES);
    expect(text).toContain('elements = { 10.1.0.0/24 }');
    expect(text).toContain('elements = { fd00:1::/64 }');
    expect(text).toContain(
      [
        '    ct state established,related accept',
        '    iifname "trellis0" oifname "trellis0" counter drop',
        '    iifname "trellis0" meta nfproto ipv4 ip daddr != @routed4 counter drop',
        '    iifname "trellis0" meta nfproto ipv6 ip6 daddr != @routed6 counter drop',
      ].join('\n'),
    );
  });

  it('lets nothing from elsewhere enter the mesh with a mesh source address', () => {
    const text = routerRuleset(RULES);
    expect(text).toContain('iifname != "trellis0" oifname "trellis0" ip saddr @mesh4 counter drop');
    expect(text).toContain('iifname != "trellis0" oifname "trellis0" ip6 saddr @mesh6 counter drop');
  });

  it('masquerades mesh traffic into the subnets unless SNAT is off (site-to-site)', () => {
    const on = routerRuleset(RULES);
    expect(on).toContain('iifname "trellis0" oifname != "trellis0" ip daddr @routed4 masquerade');
    expect(on).toContain('iifname "trellis0" oifname != "trellis0" ip6 daddr @routed6 masquerade');
    expect(routerRuleset({ ...RULES, snat: false })).not.toContain('masquerade');
  });

  it("gives the gateway sources' mesh traffic this node's own mesh address, per family", () => {
    const text = routerRuleset({ ...RULES, gatewaySources: [p('10.9.0.0/24')] });
    expect(text).toContain('iifname != "trellis0" oifname "trellis0" ip saddr @gateway4 snat ip to 100.64.0.5');
    expect(text).not.toContain('snat ip6');
    expect(routerRuleset(RULES)).not.toContain('snat ip');
  });

  it('keeps only the no-hairpin limit for an exit node (the filter decides where its traffic may go)', () => {
    const text = routerRuleset({ ...RULES, exitNode: true });
    expect(text).not.toContain('!= @routed4');
    expect(text).toContain('iifname "trellis0" oifname "trellis0" counter drop');
  });

  it('declares empty sets without elements (nft refuses an empty list)', () => {
    const text = routerRuleset({ ...RULES, routes: [p('10.1.0.0/24')] });
    expect(text).toMatch(/set routed6 \{\n {4}type ipv6_addr; flags interval; auto-merge;\n {2}\}/);
  });
});
