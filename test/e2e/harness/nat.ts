import { run } from '../../../client/system/run.ts';
import type { Host, Lab, Segment } from './lab.ts';

/**
 * A NAT router between a private segment and the lab's internet, as home and office routers
 * do it: a router namespace with `eth0` on the outside and `eth1` (`.1`) on a new inside segment,
 * IPv4 forwarding, iptables MASQUERADE on the outside, and inbound packets forwarded only when
 * conntrack knows them (address- and port-dependent filtering). Like any router's firewall, it
 * drops unsolicited packets to itself: accepted, they would leave a conntrack entry that makes
 * MASQUERADE pick another port for a later flow the other way (and so defeat hole punching).
 *  - `endpoint-independent` mapping: MASQUERADE keeps a flow's source port when it can, so one
 *    inside socket keeps one outside port whatever the destination (hole punching works);
 *  - `symmetric`: `--random-fully` picks a fresh outside port per destination (it does not).
 * With `blockUdp`, the router forwards no UDP at all, either way (networks that allow only TCP
 * out, e.g. through a web proxy's firewall).
 */
export type NatMapping = 'endpoint-independent' | 'symmetric';

export interface Nat {
  router: Host;
  inside: Segment;
  /** The router's address on the outside segment: what hosts outside see as the source. */
  publicAddress: string;
  gateway: string;
  /** A host on the inside segment whose default route is the router. */
  addHost(label: string): Promise<Host>;
}

/** `behind`: this NAT's outside is another NAT's inside (a double NAT). */
export async function addNat(
  lab: Lab,
  label: string,
  options: { mapping?: NatMapping; behind?: Nat; blockUdp?: boolean } = {},
): Promise<Nat> {
  const outside = options.behind?.inside ?? lab.internet;
  const router = await lab.addHost(label, {
    segment: outside,
    ...(options.behind && { gateway: options.behind.gateway }),
  });
  const inside = await lab.addSegment();
  const gateway = `${inside.net}.1`;
  await lab.attach(router.netns, inside, 'eth1', gateway);
  await router.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE'];
  if (options.mapping === 'symmetric') masquerade.push('--random-fully');
  for (const rule of [
    ...(options.blockUdp ? [['-A', 'FORWARD', '-p', 'udp', '-j', 'DROP']] : []),
    masquerade,
    ['-A', 'FORWARD', '-i', 'eth1', '-o', 'eth0', '-j', 'ACCEPT'],
    [
      '-A',
      'FORWARD',
      '-i',
      'eth0',
      '-o',
      'eth1',
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    ],
    ['-P', 'FORWARD', 'DROP'],
    ['-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ['-A', 'INPUT', '-i', 'eth0', '-j', 'DROP'],
  ]) {
    await run('iptables', rule, { netns: router.netns });
  }
  return {
    router,
    inside,
    publicAddress: router.address,
    gateway,
    addHost: (hostLabel) => lab.addHost(hostLabel, { segment: inside, gateway }),
  };
}
