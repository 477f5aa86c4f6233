import { parseAddress, type Address } from '../../../protocol/ip/address.ts';
import { parsePrefix, prefixContains, type Prefix } from '../../../protocol/ip/prefix.ts';

/**
 * The peers allowed, and so required, to start their connections with a PROXY header: the load
 * balancers (config `listen.proxyProtocol.from`). Anyone else could claim any client address.
 */
export class TrustedSources {
  private readonly prefixes: Prefix[];

  /** `list` as the config schema checked it: IPs and CIDR prefixes. */
  constructor(list: readonly string[]) {
    this.prefixes = list.map((text) => {
      const p = parsePrefix(text);
      if (!p.ok) throw new TypeError(`listen.proxyProtocol.from: ${p.error.message}`);
      return p.value;
    });
  }

  get empty(): boolean {
    return this.prefixes.length === 0;
  }

  /** Is the connection's peer (`socket.remoteAddress`) one of them? */
  covers(remoteAddress: string | undefined): boolean {
    if (remoteAddress === undefined || this.prefixes.length === 0) return false;
    const a = parseAddress(remoteAddress);
    if (!a.ok) return false;
    const address = unmapped(a.value);
    return this.prefixes.some((p) => prefixContains(p, address));
  }
}

const MAPPED = 0xffffn << 32n;

/** A socket listening on `::` names IPv4 peers as `::ffff:a.b.c.d`; a prefix names them as IPv4. */
function unmapped(a: Address): Address {
  return a.family === 6 && a.value >> 32n === 0xffffn ? { family: 4, value: a.value - MAPPED } : a;
}
