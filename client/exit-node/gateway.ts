import { deleteNftTable, loadNftScript, nftQuote } from '../firewall/nft.ts';
import { formatPrefix, type Prefix } from '../../protocol/ip/prefix.ts';
import type { Forwarding } from '../router/forwarding.ts';
import { run, type Runner } from '../system/run.ts';

/**
 * The exit node's side: traffic from the mesh leaves by the uplink with this node's address.
 *  - IP forwarding on, for IPv4 and IPv6, held as `exit-node` in the shared record
 *    (client/router/forwarding.ts): the last holder to let go puts back what the machine had;
 *  - masquerade for packets that came in on the mesh interface from a mesh address and leave by
 *    another interface (IPv6 as well: the mesh's ULA is not routable on the internet);
 *  - nothing from the mesh is forwarded back into it (a client must not use the exit node to
 *    reach other nodes around their own filters' view of who is asking).
 * Who may use the exit node, and to where, is not decided here: the inbound filter's forward
 * chain (client/firewall) enforces the rules the server compiled for this node, which name the
 * internet prefixes only for the sources `autogroup:internet` grants; everything else is dropped
 * before it reaches the masquerade.
 */
export const EXIT_NODE_TABLE = 'trellis_exit_node';
const HOLDER = 'exit-node';

export function gatewayRuleset(iface: string, meshRanges: readonly Prefix[]): string {
  const v4 = meshRanges.filter((r) => r.family === 4).map(formatPrefix);
  const v6 = meshRanges.filter((r) => r.family === 6).map(formatPrefix);
  const dev = nftQuote(iface);
  return [
    `add table inet ${EXIT_NODE_TABLE}`,
    `delete table inet ${EXIT_NODE_TABLE}`,
    `table inet ${EXIT_NODE_TABLE} {`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname ${dev} oifname ${dev} counter drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...(v4.length ? [`    iifname ${dev} oifname != ${dev} ip saddr { ${v4.join(', ')} } masquerade`] : []),
    ...(v6.length ? [`    iifname ${dev} oifname != ${dev} ip6 saddr { ${v6.join(', ')} } masquerade`] : []),
    '  }',
    '}',
    '',
  ].join('\n');
}

export class ExitGateway {
  constructor(
    readonly iface: string,
    private readonly forwarding: Forwarding,
    private readonly runner: Runner = run,
  ) {}

  /** Masquerade first (replaced whole), then forwarding on: never forwarding without it; idempotent. */
  async apply(meshRanges: readonly Prefix[]): Promise<void> {
    await loadNftScript(gatewayRuleset(this.iface, meshRanges), undefined, this.runner);
    await this.forwarding.hold(HOLDER);
  }

  /** Forwarding back to what it was (unless others still hold it), then the table goes. */
  async remove(): Promise<void> {
    if (this.forwarding.holders().includes(HOLDER)) await this.forwarding.release(HOLDER);
    await deleteNftTable('inet', EXIT_NODE_TABLE, undefined, this.runner);
  }
}
