import { run, type Runner } from '../system/run.ts';
import { showLink } from './ip-json.ts';
import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';

/**
 * The mesh interface's own addresses (host prefixes: one IPv4 /32, one IPv6 /128) and link
 * settings. Only addresses this module added are removed again; anything else an operator put
 * on the interface stays.
 */
export const DEFAULT_MESH_MTU = 1280; // the IPv6 minimum: fits inside any path WireGuard crosses

export class InterfaceAddresses {
  private readonly added = new Set<string>();

  constructor(
    readonly iface: string,
    readonly netns: string | undefined,
    private readonly runner: Runner = run,
  ) {}

  /** Adds the missing addresses, sets the MTU and brings the link up. Idempotent. */
  async apply(addresses: readonly Prefix[], mtu = DEFAULT_MESH_MTU): Promise<void> {
    const link = await showLink(this.iface, this.netns, this.runner);
    const present = new Set(link.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
    for (const p of addresses) {
      const text = formatPrefix(p);
      if (present.has(text)) continue;
      // nodad: the address is ours by allocation; duplicate detection would only delay it.
      await this.runner('ip', ['addr', 'add', text, 'dev', this.iface, ...(p.family === 6 ? ['nodad'] : [])], {
        netns: this.netns,
      });
      this.added.add(text);
    }
    if (link.mtu !== mtu || !link.flags.includes('UP')) {
      await this.runner('ip', ['link', 'set', 'dev', this.iface, 'mtu', String(mtu), 'up'], { netns: this.netns });
    }
  }

  /** Removes the addresses apply() added (the interface may already be gone). */
  async remove(): Promise<void> {
    for (const text of this.added) {
      await this.runner('ip', ['addr', 'del', text, 'dev', this.iface], { netns: this.netns }).catch(() => undefined);
    }
    this.added.clear();
  }
}
