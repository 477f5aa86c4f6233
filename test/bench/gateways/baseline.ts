import type { Host } from '../../e2e/harness/lab.ts';
import { BackgroundProcess } from '../../e2e/harness/process.ts';
import { iperfMbps } from '../dataplane/iperf.ts';

/**
 * The reference a subnet router is measured against: a wireguard-go pair configured by hand
 * (`wg`, `ip`, `iptables`, none of Trellis' code) between the client's and the router's
 * namespaces, the router forwarding into the subnet with MASQUERADE, as a person would set it up.
 * It reaches the same subnet host on a second address (`target`, on the same link), so the
 * agents' own routes stay untouched beside it; everything it adds is removed when done.
 */
export interface GatewayBaseline {
  client: Host;
  router: Host;
  /** The subnet host and its second address, on the router's `subnetIface`. */
  subnetHost: Host;
  subnetIface: string;
  seconds: number;
  mtu: number;
}

const NET = '10.78.0'; // the subnet's second addresses: router .1, host .10
const TUNNEL = ['10.99.0.1', '10.99.0.2'] as const; // client, router
const PORT = 51900;

export async function baselineMbps(o: GatewayBaseline): Promise<number> {
  const hosts = [o.client, o.router] as const;
  const ifaces = [o.client.lab.uniqueName('bc'), o.router.lab.uniqueName('br')] as const;
  const processes: BackgroundProcess[] = [];
  const undo: Array<() => Promise<unknown>> = [];
  try {
    const keys = await Promise.all(
      hosts.map(async (h) => {
        const priv = (await h.exec('wg', ['genkey'])).stdout.trim();
        return { priv, pub: (await h.exec('wg', ['pubkey'], { input: priv })).stdout.trim() };
      }),
    );
    for (const [i, h] of hosts.entries()) {
      // A session of its own, as the agent starts its wireguard-go (see test/bench/dataplane/baseline.ts).
      const p = new BackgroundProcess('setsid', ['wireguard-go', '-f', ifaces[i]!], h.netns);
      processes.push(p);
      const deadline = Date.now() + 5_000;
      while (
        !(await h.exec('wg', ['show', ifaces[i]!]).then(
          () => true,
          () => false,
        ))
      ) {
        if (!p.running || Date.now() > deadline)
          throw new Error(`wireguard-go ${ifaces[i]} did not start: ${p.output}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const other = hosts[1 - i]!;
      const allowed = i === 0 ? `${TUNNEL[1]}/32,${NET}.0/24` : `${TUNNEL[0]}/32`;
      await h.exec(
        'sh',
        [
          '-c',
          'cat | exec wg "$@"',
          'sh',
          'set',
          ifaces[i]!,
          'private-key',
          '/dev/stdin',
          'listen-port',
          String(PORT),
          'peer',
          keys[1 - i]!.pub,
          'endpoint',
          `${other.address}:${PORT}`,
          'allowed-ips',
          allowed,
        ],
        { input: keys[i]!.priv },
      );
      await h.exec('ip', ['addr', 'add', `${TUNNEL[i]}/24`, 'dev', ifaces[i]!]);
      await h.exec('ip', ['link', 'set', ifaces[i]!, 'mtu', String(o.mtu), 'up']);
    }
    await o.client.exec('ip', ['route', 'add', `${NET}.0/24`, 'dev', ifaces[0]]);
    await o.router.exec('ip', ['addr', 'add', `${NET}.1/24`, 'dev', o.subnetIface]);
    undo.push(() => o.router.exec('ip', ['addr', 'del', `${NET}.1/24`, 'dev', o.subnetIface]));
    await o.subnetHost.exec('ip', ['addr', 'add', `${NET}.10/24`, 'dev', 'eth0']);
    undo.push(() => o.subnetHost.exec('ip', ['addr', 'del', `${NET}.10/24`, 'dev', 'eth0']));
    // Forwarding is on already (the router's agent holds it); the hand-made NAT:
    const nat = ['-t', 'nat', 'POSTROUTING', '-s', `${TUNNEL[0]}/32`, '-d', `${NET}.0/24`, '-j', 'MASQUERADE'];
    await o.router.exec('iptables', [nat[0]!, nat[1]!, '-A', ...nat.slice(2)]);
    undo.push(() => o.router.exec('iptables', [nat[0]!, nat[1]!, '-D', ...nat.slice(2)]));
    if (!(await o.client.pingUntil(`${NET}.10`))) throw new Error('the baseline tunnel does not reach the subnet host');
    return await iperfMbps(o.client, o.subnetHost, `${NET}.10`, o.seconds, 5202);
  } finally {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    await Promise.allSettled(processes.map((p) => p.stop()));
  }
}
