import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../../client/firewall/compile.ts';
import { acceptRoutes } from '../../../client/routes/accepted-routes.ts';
import { parseServeSpec } from '../../../client/serve/serve-spec.ts';
import { advertisedWithServices, servedServices, serviceProbes } from '../../../client/serve/served-services.ts';
import { withServiceDestinations } from '../../../client/serve/service-filter.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { FilterRule } from '../../../protocol/filter.ts';
import type { DnsConfig } from '../../../protocol/map.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';

const KUBE = { name: 'kube', addresses: ['100.127.1.2', 'fd7a:115c:a1e0:ffff::1:2'] };
const PREFIXES = ['100.127.1.2/32', 'fd7a:115c:a1e0:ffff::1:2/128'];
const dns: DnsConfig = { domain: 'mesh.trellis.internal', nameservers: [], services: [KUBE] };
const key = () => generateKeyPair().publicKey;
const replica = (over: Partial<SelfNode> = {}): SelfNode => ({
  id: 'n1',
  name: 'proxy-a',
  wireguardKey: key(),
  machineKey: key(),
  addresses: ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'],
  allowedIPs: [],
  endpoints: [],
  tags: ['tag:k8s'],
  online: true,
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
  ...over,
});

describe('trellis up --serve: a replica of a mesh service', () => {
  it('reads NAME and NAME=tcp:PORT, and refuses anything else with the reason', () => {
    expect(parseServeSpec('kube')).toEqual({ ok: true, value: { name: 'kube' } });
    expect(parseServeSpec('Kube=tcp:443')).toEqual({ ok: true, value: { name: 'kube', probePort: 443 } });
    expect(parseServeSpec('kube=443')).toMatchObject({ ok: false, error: expect.stringContaining('tcp:PORT') });
    expect(parseServeSpec('kube=tcp:70000')).toMatchObject({ ok: false });
    expect(parseServeSpec('kube.mesh')).toMatchObject({ ok: false, error: expect.stringContaining('DNS label') });
  });

  it("takes the service's addresses from the map, and says which names the map does not know", () => {
    const { served, unknown } = servedServices([{ name: 'kube', probePort: 443 }, { name: 'nope' }], dns, replica());
    expect(served).toEqual([
      {
        name: 'kube',
        ipv4: KUBE.addresses[0],
        ipv6: KUBE.addresses[1],
        prefixes: PREFIXES,
        probePort: 443,
        approved: false,
      },
    ]);
    expect(unknown).toEqual(['nope']);
    expect(servedServices([{ name: 'kube' }], undefined, replica()).unknown).toEqual(['kube']);
  });

  it('reports approval and the election as the server sends them', () => {
    const self = replica({
      advertisedRoutes: PREFIXES,
      approvedRoutes: PREFIXES,
      routes: [{ prefix: PREFIXES[0]!, role: 'standby', reason: 'standby: proxy-b is primary', priority: 100 }],
    });
    expect(servedServices([{ name: 'kube' }], dns, self).served[0]).toMatchObject({
      approved: true,
      role: 'standby',
      reason: 'standby: proxy-b is primary',
    });
  });

  it("advertises the service's prefixes beside the node's own routes, and probes its port on both addresses", () => {
    const { served } = servedServices([{ name: 'kube', probePort: 443 }], dns, replica());
    expect(advertisedWithServices(['10.0.0.0/24'], served)).toEqual(['10.0.0.0/24', ...PREFIXES]);
    expect(serviceProbes(served)).toEqual([
      { prefix: PREFIXES[0], probe: { kind: 'tcp', target: '100.127.1.2:443' } },
      { prefix: PREFIXES[1], probe: { kind: 'tcp', target: '[fd7a:115c:a1e0:ffff::1:2]:443' } },
    ]);
    expect(serviceProbes(servedServices([{ name: 'kube' }], dns, replica()).served)).toEqual([]);
  });

  it("lets in on the service's address what the rules let in on the node's own, and nothing else", () => {
    const rules: FilterRule[] = [
      { srcIPs: ['100.64.0.7'], dstPorts: [{ ip: '100.64.0.1', ports: { first: 443, last: 443 } }], ipProto: [6] },
      {
        srcIPs: ['100.64.0.8'],
        dstPorts: [{ ip: 'fd7a:115c:a1e0::1/128', ports: { first: 22, last: 22 } }],
        ipProto: [6],
      },
      // A subnet this node routes and an any-destination rule: left as they are.
      { srcIPs: ['100.64.0.9'], dstPorts: [{ ip: '10.0.0.0/24', ports: { first: 0, last: 65535 } }], ipProto: [6] },
      { srcIPs: ['100.64.0.9'], dstPorts: [{ ip: '*', ports: { first: 80, last: 80 } }], ipProto: [6] },
    ];
    const { served } = servedServices([{ name: 'kube' }], dns, replica());
    const out = withServiceDestinations(rules, replica(), served);
    expect(out[0]!.dstPorts).toEqual([
      { ip: '100.64.0.1', ports: { first: 443, last: 443 } },
      { ip: '100.127.1.2', ports: { first: 443, last: 443 } },
    ]);
    expect(out[1]!.dstPorts).toEqual([
      { ip: 'fd7a:115c:a1e0::1/128', ports: { first: 22, last: 22 } },
      { ip: 'fd7a:115c:a1e0:ffff::1:2', ports: { first: 22, last: 22 } },
    ]);
    expect(out.slice(2)).toEqual(rules.slice(2));
    const script = compileFilter(out, { iface: 'trellis0' });
    expect(script).toContain('ip daddr 100.127.1.2 meta l4proto 6 th dport 443');
    expect(compileFilter(rules, { iface: 'trellis0' })).not.toContain('100.127.1.2');
  });

  it('drops, rather than refuses, a connection attempt to a served address that nothing listens on', () => {
    const script = compileFilter([], {
      iface: 'trellis0',
      replicaAddresses: ['100.127.1.2', 'fd7a:115c:a1e0:ffff::1:2'],
    });
    expect(script).toContain(
      'iifname "trellis0" ip daddr { 100.127.1.2 } tcp flags & (syn | ack) == syn jump replica_syn',
    );
    expect(script).toContain(
      'iifname "trellis0" ip6 daddr { fd7a:115c:a1e0:ffff::1:2 } tcp flags & (syn | ack) == syn jump replica_syn',
    );
    expect(script).toMatch(
      /chain replica_syn \{\n\s+socket transparent 0 return\n\s+socket transparent 1 return\n\s+counter drop/,
    );
    // Before the policy's rules, which still decide once a listener takes the SYN.
    expect(script.indexOf('jump replica_syn')).toBeLessThan(script.indexOf('jump mesh_inbound'));
    expect(compileFilter([], { iface: 'trellis0' })).not.toContain('replica_syn');
  });

  it("keeps a mesh service's address on the peer that carries it, without --accept-routes", () => {
    const carrier: Peer = {
      id: 'n2',
      name: 'proxy-b',
      wireguardKey: key(),
      addresses: ['100.64.0.2/32'],
      allowedIPs: ['100.64.0.2/32', '10.9.0.0/24', ...PREFIXES],
      primaryRoutes: ['10.9.0.0/24', ...PREFIXES],
      endpoints: [],
      tags: ['tag:k8s'],
      online: true,
    };
    const settings = { acceptRoutes: false, force: [] };
    const local = { connected: [], gateways: [], servers: [] };
    const { peers, offered } = acceptRoutes([carrier], settings, local, PREFIXES);
    expect(peers[0]!.allowedIPs).toEqual(['100.64.0.2/32', ...PREFIXES]);
    expect(offered.map((o) => o.prefix)).toEqual(['10.9.0.0/24']);
    // Without knowing the services, they were offered subnet routes and dropped.
    expect(acceptRoutes([carrier], settings, local).peers[0]!.allowedIPs).toEqual(['100.64.0.2/32']);
  });
});
