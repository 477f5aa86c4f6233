import { readFileSync } from 'node:fs';
import { DnsServer } from '../dns/dns-server.ts';
import { Forwarder, resolvConfNameservers } from '../dns/forwarder.ts';
import { DNS_SERVICE_ADDRESS } from '../dns/mesh-dns.ts';
import { MeshNames, type MeshHost } from '../dns/mesh-names.ts';
import { EXIT_DNS_PORT } from './exit-dns-rule.ts';

/**
 * The exit node's resolver for the nodes that use it: a DNS server on each of its mesh
 * addresses (port 53, UDP and TCP, so a truncated answer's retry over TCP comes through the
 * tunnel too) that forwards to this machine's own resolvers (resolv.conf), so a client's
 * queries leave with the rest of its traffic, from here, and never from the client's network.
 * The mesh's names are answered as this node sees them. The inbound filter lets only the nodes
 * allowed to use this exit node reach the port (exit-dns-rule.ts); the server and forwarder are
 * the ones of client/dns, reused.
 */

interface ExitDnsMap {
  /** This node's mesh addresses (bare). */
  addresses: readonly string[];
  domain?: string;
  hosts: readonly MeshHost[];
}

export class ExitDns {
  private servers = new Map<string, DnsServer>();
  private forwarder: { key: string; forwarder: Forwarder } | undefined;

  constructor(
    private readonly port = EXIT_DNS_PORT,
    private readonly resolvConf = '/etc/resolv.conf',
  ) {}

  /** Serves on `map.addresses` (listening where it does not yet), with the names of the map. */
  async update(map: ExitDnsMap): Promise<void> {
    for (const [address, server] of this.servers) {
      if (!map.addresses.includes(address)) {
        await server.close();
        this.servers.delete(address);
      }
    }
    const names = new MeshNames(map.domain || 'invalid', map.domain ? map.hosts : []);
    const forwarder = this.forwarderFor(this.upstreams());
    for (const address of map.addresses) {
      let server = this.servers.get(address);
      if (!server) {
        server = await DnsServer.listen(address, this.port, { tcp: true });
        this.servers.set(address, server);
      }
      server.serve(names, forwarder);
    }
  }

  get listening(): string[] {
    return [...this.servers.keys()];
  }

  async stop(): Promise<void> {
    for (const server of this.servers.values()) await server.close();
    this.servers.clear();
  }

  /** This machine's resolvers, read again on each map (a DHCP lease may have changed them). */
  private upstreams(): string[] {
    try {
      return resolvConfNameservers(readFileSync(this.resolvConf, 'utf8'), [DNS_SERVICE_ADDRESS]);
    } catch {
      return [];
    }
  }

  private forwarderFor(upstreams: readonly string[]): Forwarder | undefined {
    if (upstreams.length === 0) return undefined;
    const key = upstreams.join();
    if (this.forwarder?.key !== key) this.forwarder = { key, forwarder: new Forwarder(upstreams) };
    return this.forwarder.forwarder;
  }
}
