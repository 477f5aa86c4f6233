import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { DnsConfig } from '../../protocol/map.ts';
import type { Peer, SelfNode } from '../../protocol/node.ts';
import type { Runner } from '../system/run.ts';
import { DnsServer } from './dns-server.ts';
import { Forwarder, resolvConfNameservers } from './forwarder.ts';
import { MeshNames, type MeshHost } from './mesh-names.ts';
import { SystemResolver, type SystemResolverKind } from './system-resolver.ts';

/**
 * Names for the mesh on this node: a DNS server for `<name>.<domain>` on a service address that
 * is local to every node (Tailscale's 100.100.100.100, which the server never gives a node:
 * server/nodes/addresses.ts), answered from the node's own map, and split DNS in the system resolver.
 * Other names are forwarded (to the server's network.nameservers, else to the machine's own
 * resolvers), so a pod or a machine without systemd-resolved may use it as its only nameserver.
 * The service address sits on the mesh interface (EngineOptions.serviceAddresses), so a query
 * from this machine never leaves it; the inbound filter drops queries from anywhere else.
 */
export const DNS_SERVICE_ADDRESS = '100.100.100.100';

interface MeshDnsStatus {
  domain: string;
  server: string;
  /** Where the system resolver sends the domain's queries: 'none' means nobody does yet. */
  system: SystemResolverKind;
}

interface MeshDnsMap {
  self: SelfNode;
  peers: Iterable<Peer>;
  dns?: DnsConfig;
}

export class MeshDns {
  private server: DnsServer | undefined;
  private readonly resolver: SystemResolver;
  private configured: MeshDnsStatus | undefined;
  /** The interface the system resolver was set up on: a recreated one has lost its settings. */
  private configuredOn: string | undefined;
  private forwarder: { key: string; forwarder: Forwarder } | undefined;

  constructor(
    private readonly iface: string,
    private readonly log: Logger,
    runner?: Runner,
    private readonly port = 53,
    private readonly resolvConf = '/etc/resolv.conf',
  ) {
    this.resolver = new SystemResolver(iface, undefined, runner);
  }

  get status(): MeshDnsStatus | undefined {
    return this.configured;
  }

  /**
   * Serves the map's names; call after the engine has put the service address on the interface.
   * With an exit node in use, other names go to its resolver (`exitResolvers`), through the
   * tunnel, and nowhere else: the kill switch refuses DNS to any other address.
   */
  async update(map: MeshDnsMap, exitResolvers?: readonly string[]): Promise<void> {
    const domain = map.dns?.domain;
    if (!domain) return;
    const hosts: MeshHost[] = [{ name: map.self.name, addresses: [map.self.ipv4, map.self.ipv6] }];
    for (const p of map.peers) hosts.push({ name: p.name, addresses: p.addresses.map((a) => a.split('/')[0]!) });
    // A service's name answers wherever its replicas are: the election decides which one gets the packets.
    for (const s of map.dns?.services ?? []) hosts.push({ name: s.name, addresses: s.addresses });
    this.server ??= await DnsServer.listen(DNS_SERVICE_ADDRESS, this.port);
    this.server.serve(
      new MeshNames(domain, hosts),
      this.forwarderFor(
        exitResolvers ? exitResolvers : map.dns?.nameservers.length ? map.dns.nameservers : this.systemNameservers(),
      ),
    );
    const on = this.interfaceIndex();
    if (this.configured?.domain === domain && this.configuredOn === on) return;
    let system: SystemResolverKind;
    try {
      system = await this.resolver.apply(DNS_SERVICE_ADDRESS, domain);
    } catch (err) {
      // Not again on every map: only when the domain or the interface changes.
      this.log.warn({ err }, 'systemd-resolved refused the mesh domain; names are answered but not routed there');
      system = 'none';
    }
    this.configured = { domain, server: DNS_SERVICE_ADDRESS, system };
    this.configuredOn = on;
    if (system === 'none') {
      this.log.info(
        { domain, server: DNS_SERVICE_ADDRESS },
        `mesh names: no systemd-resolved here; point your resolver's ${domain} at ${DNS_SERVICE_ADDRESS}`,
      );
    }
  }

  /** One forwarder while the upstreams stay the same, so its cap on queries in flight holds. */
  private forwarderFor(upstreams: readonly string[]): Forwarder | undefined {
    if (upstreams.length === 0) return undefined;
    const key = upstreams.join();
    if (this.forwarder?.key !== key) this.forwarder = { key, forwarder: new Forwarder(upstreams) };
    return this.forwarder.forwarder;
  }

  private interfaceIndex(): string | undefined {
    try {
      return readFileSync(`/sys/class/net/${this.iface}/ifindex`, 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** The machine's own resolvers, where names that are not the mesh's go unless the server names others. */
  private systemNameservers(): string[] {
    try {
      return resolvConfNameservers(readFileSync(this.resolvConf, 'utf8'), [DNS_SERVICE_ADDRESS]);
    } catch {
      return [];
    }
  }

  /**
   * Stops answering. The system resolver's settings stay with the interface: they go when it
   * goes (`down`), and otherwise point at the next agent's server.
   */
  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.configured = undefined;
  }
}
