import type { Host } from '../../e2e/harness/lab.ts';
import { startHandPair, type HandPair } from '../dataplane/baseline.ts';
import { iperfMbps } from '../dataplane/iperf.ts';

/**
 * The reference a subnet router is measured against: the data-plane bench's hand-configured
 * wireguard-go pair (dataplane/baseline.ts: `wg` and `ip`, none of Trellis' code) between the
 * client's and the router's namespaces, and the router forwarding into the subnet with an
 * iptables MASQUERADE, as a person would set it up by hand. Same namespaces, same underlay
 * link, same subnet link and subnet host as the router's path: the subnet host takes a second
 * address on its link (`NET`.10, the router `NET`.1), so the agents' own addresses, routes and
 * tables stay untouched beside it. The router's agent holds IPv4 forwarding on already; the
 * agents' nftables tables only look at their own interfaces (and the mesh ranges), which this
 * path never uses. Everything added is removed when done.
 */
export interface GatewayBaseline {
  client: Host;
  router: Host;
  /** The subnet host, on the router's `subnetIface` link. */
  subnetHost: Host;
  subnetIface: string;
  seconds: number;
  mtu: number;
}

const NET = '10.78.0'; // the subnet link's second addresses: router .1, subnet host .10

export async function baselineMbps(o: GatewayBaseline): Promise<number> {
  let pair: HandPair | undefined;
  const undo: Array<() => Promise<unknown>> = [];
  try {
    pair = await startHandPair({ hosts: [o.client, o.router], mtu: o.mtu, routedThrough: [[`${NET}.0/24`], []] });
    await o.client.exec('ip', ['route', 'add', `${NET}.0/24`, 'dev', pair.ifaces[0]]);
    await o.router.exec('ip', ['addr', 'add', `${NET}.1/24`, 'dev', o.subnetIface]);
    undo.push(() => o.router.exec('ip', ['addr', 'del', `${NET}.1/24`, 'dev', o.subnetIface]));
    await o.subnetHost.exec('ip', ['addr', 'add', `${NET}.10/24`, 'dev', 'eth0']);
    undo.push(() => o.subnetHost.exec('ip', ['addr', 'del', `${NET}.10/24`, 'dev', 'eth0']));
    const nat = ['POSTROUTING', '-s', `${pair.tunnel[0]}/32`, '-d', `${NET}.0/24`, '-j', 'MASQUERADE'];
    await o.router.exec('iptables', ['-t', 'nat', '-A', ...nat]);
    undo.push(() => o.router.exec('iptables', ['-t', 'nat', '-D', ...nat]));
    if (!(await o.client.pingUntil(`${NET}.10`))) throw new Error('the baseline tunnel does not reach the subnet host');
    return await iperfMbps(o.client, o.subnetHost, `${NET}.10`, o.seconds, 5202);
  } finally {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    await pair?.stop();
  }
}
