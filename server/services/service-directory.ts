import { createHash } from 'node:crypto';
import { formatAddress, type Family } from '../../protocol/ip/address.ts';
import { lastAddress, parsePrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import { ConfigError } from '../config/errors.ts';

/** A mesh service: one name and one address pair that several replicas serve (README.md here). */
export interface ServiceSpec {
  name: string;
  /** Tags of the nodes that may serve it (advertise its address, get a certificate for its name). */
  servedBy: string[];
}

export interface MeshService extends ServiceSpec {
  ipv4: string;
  ipv6: string;
  /** `ipv4/32` and `ipv6/128`: the routes each replica advertises and the election gives to one. */
  prefixes: [string, string];
}

/** Service addresses come from the top of each mesh range, far from node addresses, which start at the bottom. */
const SERVICE_BLOCK = 65_536n;

/**
 * The configured services with their addresses. An address is derived from the service's name
 * (a hash into the top block of the mesh range), so it is the same on every start and every
 * server without being stored, and a renamed service gets a new one. Two names that land on one
 * address are refused at start, as is a service named like a reserved label.
 */
export class ServiceDirectory {
  readonly services: readonly MeshService[];

  constructor(specs: readonly ServiceSpec[], ipv4Prefix: string, ipv6Prefix: string) {
    const v4 = parsePrefix(ipv4Prefix);
    const v6 = parsePrefix(ipv6Prefix);
    if (!v4.ok || !v6.ok) throw new TypeError('the mesh prefixes are checked before the services');
    const taken = new Map<string, string>();
    this.services = specs.map((spec, i) => {
      const ipv4 = addressIn(v4.value, spec.name);
      const clash = taken.get(ipv4);
      if (clash) {
        throw new ConfigError(
          'config.invalid',
          `services[${i}].name: ${spec.name} and ${clash} would share the address ${ipv4}; rename one`,
        );
      }
      taken.set(ipv4, spec.name);
      const ipv6 = addressIn(v6.value, spec.name);
      return { ...spec, ipv4, ipv6, prefixes: [`${ipv4}/32`, `${ipv6}/128`] };
    });
  }

  /** The service names (labels) a node with these tags may serve. */
  servedBy(tags: readonly string[]): string[] {
    return this.services.filter((s) => s.servedBy.some((t) => tags.includes(t))).map((s) => s.name);
  }

  /**
   * The routes among `advertised` that are service addresses this node may serve: approved for
   * it without an administrator, as the servedBy tags say (the election then picks one replica).
   */
  approvedFor(tags: readonly string[], advertised: readonly string[]): string[] {
    const mine = this.services.filter((s) => s.servedBy.some((t) => tags.includes(t)));
    return mine.flatMap((s) => s.prefixes.filter((p) => advertised.includes(p)));
  }

  /** Names and addresses for the agents' mesh DNS. */
  records(): Array<{ name: string; addresses: string[] }> {
    return this.services.map((s) => ({ name: s.name, addresses: [s.ipv4, s.ipv6] }));
  }
}

/** An address in the top block of `prefix` (never its first or last), chosen by the name's hash. */
function addressIn(prefix: Prefix, name: string): string {
  const size = lastAddress(prefix) - prefix.address + 1n;
  const block = size / 4n < SERVICE_BLOCK ? size / 4n : SERVICE_BLOCK;
  const hash = BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 16)}`);
  const offset = size - block + (hash % (block - 2n));
  return formatAddress({ family: prefix.family as Family, value: prefix.address + offset });
}
