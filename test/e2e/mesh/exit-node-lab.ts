import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { run } from '../../../client/system/run.ts';
import { DNS_QUERY_JS, DNS_RESOLVER_JS } from '../harness/dns-scripts.ts';
import { Lab, type Host } from '../harness/lab.ts';
import { addNat, type Nat } from '../harness/nat.ts';
import type { BackgroundProcess } from '../harness/process.ts';
import { AgentHost } from './agent-host.ts';
import { ServerHost } from './server-host.ts';

/**
 * A lab for exit nodes, shared by the e2e suite and the leak part of `npm run bench:gateways`.
 * Every address lives in the lab's own namespaces (names start with `gwx-`):
 *  - "the internet": host `net` with 198.51.100.10 and 2001:db8:ff::10 (documentation ranges,
 *    which the policy's autogroup:internet covers), a TCP server on port 80 that says whom it
 *    sees, and the exit nodes' resolver (it answers every name with 203.0.113.7);
 *  - two exit nodes `ex1`, `ex2` on the lab's internet segment (IPv4 and IPv6 underlay);
 *  - a LAN behind router `lan` (IPv4 NAT, plain IPv6 routing): a resolver on the router's LAN
 *    address (it answers 192.0.2.66, so an answer says which resolver gave it), the client
 *    `cl` the policy lets use the exit nodes, and `ot`, another LAN host with an agent the policy
 *    does not let use them, also serving TCP port 80 (the LAN for allow-lan-access).
 * Each namespace's resolv.conf (/etc/netns/<ns>/resolv.conf, which `ip netns exec` mounts) names
 * the resolver of its network, as DHCP would.
 */
export const INTERNET4 = '198.51.100.10';
export const INTERNET6 = '2001:db8:ff::10';
export const EXIT_ANSWER = '203.0.113.7';
export const LAN_ANSWER = '192.0.2.66';
const WATCH_TABLE = 'gwx_watch';

const POLICY = `{
  "tagOwners": { "tag:exit": [], "tag:ok": [], "tag:no": [] },
  "acls": [
    { "action": "accept", "src": ["tag:ok"], "dst": ["autogroup:internet:*"] },
    { "action": "accept", "src": ["tag:ok", "tag:no"], "dst": ["tag:exit:*", "tag:ok:*", "tag:no:*"] }
  ]
}`;

interface Ipv6Outcome {
  ok: boolean;
  ms: number;
  reason?: string;
}

export interface KillSwitchFigures {
  /** Packets that left the client's underlay other than to its WireGuard and control endpoints. */
  leakedPackets: number;
  /** Queries the LAN's resolver received from the client. */
  leakedDnsQueries: number;
  /** Connections, queries and pings tried while blocked, and how many got an answer. */
  attempts: number;
  reached: number;
  /** Each IPv6 connection tried while blocked: refused at once, or a timeout (an application that hangs). */
  ipv6Outcomes: Ipv6Outcome[];
}

const Counter = z.object({ nftables: z.array(z.object({ counter: z.object({ packets: z.number() }).optional() })) });

export class ExitNodeLab {
  private readonly resolvConfs: string[] = [];

  private constructor(
    readonly lab: Lab,
    readonly server: ServerHost,
    readonly net: Host,
    readonly nat: Nat,
    readonly exits: [AgentHost, AgentHost],
    readonly client: AgentHost,
    readonly other: AgentHost,
    private readonly exitResolver: BackgroundProcess,
    private readonly lanResolver: BackgroundProcess,
  ) {}

  static async start(): Promise<ExitNodeLab> {
    const lab = await Lab.create({ tag: 'gwx' });
    const resolvConfs: string[] = [];
    const resolvConf = (host: Host, nameserver: string) => {
      const dir = `/etc/netns/${host.netns}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/resolv.conf`, `nameserver ${nameserver}\n`);
      resolvConfs.push(dir);
    };
    try {
      const server = await ServerHost.start(lab);
      const net = await lab.addHost('net');
      const sh = (host: Host, ...cmds: string[][]) =>
        cmds.reduce(
          (p, c) => p.then(() => run(c[0]!, c.slice(1), { netns: host.netns })),
          Promise.resolve(undefined as unknown),
        );
      await sh(
        net,
        ['ip', 'addr', 'add', `${INTERNET4}/32`, 'dev', 'lo'],
        ['ip', 'addr', 'add', `${INTERNET6}/128`, 'dev', 'lo'],
        ['ip', 'addr', 'add', '2001:db8::a/64', 'dev', 'eth0', 'nodad'],
        ['ip', '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8::1'],
      );
      const toInternet = (host: Host, v6: string) =>
        sh(
          host,
          ['ip', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad'],
          ['ip', 'route', 'add', '198.51.100.0/24', 'via', net.address],
          ['ip', '-6', 'route', 'add', '2001:db8:ff::/64', 'via', '2001:db8::a'],
        );
      const nat = await addNat(lab, 'lan');
      await toInternet(nat.router, '2001:db8::1');
      await sh(
        nat.router,
        ['ip', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'eth1', 'nodad'],
        ['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1'],
      );
      const exitHosts = [await lab.addHost('ex1'), await lab.addHost('ex2')] as const;
      await toInternet(exitHosts[0], '2001:db8::e1');
      await toInternet(exitHosts[1], '2001:db8::e2');
      const lanHost = async (label: string, v6: string) => {
        const h = await nat.addHost(label);
        await sh(
          h,
          ['ip', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad'],
          ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1'],
        );
        resolvConf(h, nat.gateway);
        return h;
      };
      const [clHost, otHost] = [await lanHost('cl', '2001:db8:1::10'), await lanHost('ot', '2001:db8:1::11')];
      for (const h of exitHosts) resolvConf(h, net.address);

      const exitResolver = net.spawn('node', ['-e', DNS_RESOLVER_JS, net.address, '53', EXIT_ANSWER]);
      const lanResolver = nat.router.spawn('node', ['-e', DNS_RESOLVER_JS, nat.gateway, '53', LAN_ANSWER]);
      for (const r of [exitResolver, lanResolver])
        await r.waitFor(/^ready$/m).catch((err: Error) => {
          throw new Error(`${err.message}\n${r.output}`);
        });
      await net.serveTcp([80]);
      await otHost.serveTcp([80]);

      const [ex1, ex2, client, other] = await Promise.all([
        AgentHost.startOn(exitHosts[0]),
        AgentHost.startOn(exitHosts[1]),
        AgentHost.startOn(clHost),
        AgentHost.startOn(otHost),
      ]);
      await server.setPolicy(POLICY);
      const key = async (tag: string) => server.preAuthKey({ tags: [tag] });
      const exitKey = await key('tag:exit');
      for (const ex of [ex1, ex2]) {
        await ex.up(server.url, exitKey, { advertiseExitNode: true });
        const id = (await ex.status()).self!.id;
        const res = await server.admin('POST', `/api/v1/nodes/${id}/routes`, { routes: ['0.0.0.0/0', '::/0'] });
        if (res.status !== 200) throw new Error(`approving exit routes: ${res.status} ${JSON.stringify(res.body)}`);
      }
      await client.up(server.url, await key('tag:ok'));
      await other.up(server.url, await key('tag:no'));
      await client.until(
        (s) => s.exitNodeOptions?.filter((o) => o.online).length === 2,
        'both exit nodes offered',
        20_000,
      );
      const l = new ExitNodeLab(lab, server, net, nat, [ex1, ex2], client, other, exitResolver, lanResolver);
      l.resolvConfs.push(...resolvConfs);
      return l;
    } catch (err) {
      await lab.cleanup();
      for (const d of resolvConfs) rmSync(d, { recursive: true, force: true });
      throw err;
    }
  }

  /** The LAN's resolver (on its router), as the LAN hosts' resolv.conf names it. */
  get lanResolverAddress(): string {
    return this.nat.gateway;
  }

  /** Queries the LAN's resolver has received so far. */
  lanResolverQueries(): number {
    return this.lanResolver.output.split('\n').filter((l) => l.startsWith('query ')).length;
  }

  exitResolverQueries(): number {
    return this.exitResolver.output.split('\n').filter((l) => l.startsWith('query ')).length;
  }

  /** One DNS query from `from` to `server`: the answer's address, `timeout`, or `error CODE`. */
  async dns(from: AgentHost, server: string, name = 'www.example.com', timeoutMs = 1_500): Promise<string> {
    const r = await from.host
      .exec('node', ['-e', DNS_QUERY_JS, server, '53', name, String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 })
      .then(
        (x) => x.stdout,
        (e: { stdout?: string }) => e.stdout ?? 'error',
      );
    return r.trim();
  }

  /**
   * Counts what `host` sends out of its underlay (eth0), at the device's egress hook, after
   * routing and every filter: WireGuard's own packets (marked), the control server's TCP, link
   * housekeeping (ARP, neighbour discovery) are told apart; everything else is a leak.
   */
  async watch(host: AgentHost): Promise<{ leaked(): Promise<number>; tunnel(): Promise<number> }> {
    const script = [
      `add table netdev ${WATCH_TABLE}`,
      `delete table netdev ${WATCH_TABLE}`,
      `table netdev ${WATCH_TABLE} {`,
      '  counter leaked {',
      '  }',
      '  counter tunnel {',
      '  }',
      '  chain egress {',
      '    type filter hook egress device "eth0" priority 0; policy accept;',
      '    ether type arp accept',
      '    meta mark 0x7472 counter name "tunnel" accept',
      `    ip daddr ${this.server.host.address} tcp dport 8080 accept`,
      '    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept',
      '    counter name "leaked"',
      '  }',
      '}',
      '',
    ].join('\n');
    await run('nft', ['-f', '-'], { netns: host.host.netns, input: script });
    const read = async (name: string) => {
      const { stdout } = await run('nft', ['-j', 'list', 'counter', 'netdev', WATCH_TABLE, name], {
        netns: host.host.netns,
      });
      return Counter.parse(JSON.parse(stdout)).nftables.find((o) => o.counter)?.counter?.packets ?? 0;
    };
    return { leaked: () => read('leaked'), tunnel: () => read('tunnel') };
  }

  /**
   * The kill switch's run: with `ex1` selected, the client's agent is SIGKILLed (wireguard-go
   * with it), the client tries every way out, the agent comes back and adopts the kill switch,
   * then the exit node is SIGKILLed and the client tries again. Counted at the client's eth0:
   * packets that left other than WireGuard's and the control server's, and queries that reached
   * the LAN's resolver. `ex1` is started again at the end.
   */
  async killSwitchRun(): Promise<KillSwitchFigures> {
    const [ex1] = this.exits;
    const cl = this.client;
    await cl.api.up({ exitNode: ex1.label, exitNodeAllowLanAccess: false });
    await cl.until((s) => s.exitNode?.name === ex1.label && s.exitNode.online && s.exitNode.killSwitch, 'ex1 in use');
    // The first packets wait for the handshake with the exit node.
    const deadline = Date.now() + 15_000;
    while (!(await cl.host.connectTcp(INTERNET4, 80, 1_000)).ok)
      if (Date.now() > deadline) throw new Error('the internet is not reached through ex1');
    const watch = await this.watch(cl);
    const dnsBefore = this.lanResolverQueries();
    await cl.crash();
    const agentDead = await this.tryEveryWayOut();
    await cl.start();
    await cl.until((s) => s.state === 'running' && s.exitNode?.killSwitch === true, 'the kill switch adopted');
    await ex1.crash();
    await cl.until(
      (s) => s.exitNode?.message === `exit node ${ex1.label} offline; traffic blocked`,
      'ex1 offline',
      20_000,
    );
    const exitDead = await this.tryEveryWayOut();
    const figures: KillSwitchFigures = {
      leakedPackets: await watch.leaked(),
      leakedDnsQueries: this.lanResolverQueries() - dnsBefore,
      attempts: agentDead.attempts + exitDead.attempts,
      reached: agentDead.reached + exitDead.reached,
      ipv6Outcomes: [...agentDead.ipv6, ...exitDead.ipv6],
    };
    await ex1.start();
    await cl.until((s) => s.exitNode?.online === true, 'ex1 back', 20_000);
    return figures;
  }

  /**
   * The same, as it goes without a kill switch that outlives the agent (a daemon whose rules go
   * with it): the client's agent is SIGKILLed and its rules removed, then every way out is tried.
   * What leaks here is what the kill switch holds back. The agent is started again at the end.
   */
  async withoutKillSwitchRun(): Promise<
    Pick<KillSwitchFigures, 'leakedPackets' | 'leakedDnsQueries' | 'attempts' | 'reached'>
  > {
    const cl = this.client;
    await cl.api.up({ exitNode: this.exits[0].label, exitNodeAllowLanAccess: false });
    const watch = await this.watch(cl);
    const dnsBefore = this.lanResolverQueries();
    await cl.crash();
    await run('nft', ['delete', 'table', 'inet', 'trellis_guard'], { netns: cl.host.netns });
    for (const family of ['-4', '-6'])
      for (const pref of ['5200', '5210', '5220'])
        await run('ip', [family, 'rule', 'del', 'pref', pref], { netns: cl.host.netns }).catch(() => undefined);
    const open = await this.tryEveryWayOut();
    const figures = {
      leakedPackets: await watch.leaked(),
      leakedDnsQueries: this.lanResolverQueries() - dnsBefore,
      attempts: open.attempts,
      reached: open.reached,
    };
    await cl.start();
    await cl.until((s) => s.state === 'running' && s.exitNode?.killSwitch === true, 'the kill switch back');
    return figures;
  }

  /** TCP to the internet (IPv4, IPv6), to the LAN, DNS to the LAN resolver, ping: how many got through. */
  private async tryEveryWayOut(): Promise<{ attempts: number; reached: number; ipv6: Ipv6Outcome[] }> {
    const cl = this.client;
    let reached = 0;
    const ipv6: Ipv6Outcome[] = [];
    for (let round = 0; round < 3; round++) {
      if ((await cl.host.connectTcp(INTERNET4, 80, 1_000)).ok) reached++;
      const started = performance.now();
      const v6 = await cl.host.connectTcp(INTERNET6, 80, 3_000);
      ipv6.push({ ok: v6.ok, ms: Math.round(performance.now() - started), ...(!v6.ok && { reason: v6.reason }) });
      if (v6.ok) reached++;
      if ((await cl.host.connectTcp(this.other.host.address, 80, 1_000)).ok) reached++;
      if (/^\d/.test(await this.dns(cl, this.lanResolverAddress, `probe${round}.example.com`, 1_000))) reached++;
      if (await cl.host.ping(INTERNET4, 1)) reached++;
    }
    return { attempts: 15, reached, ipv6 };
  }

  async cleanup(): Promise<void> {
    await this.lab.cleanup();
    this.server.dispose();
    for (const a of [...this.exits, this.client, this.other]) a.dispose();
    for (const d of this.resolvConfs) rmSync(d, { recursive: true, force: true });
  }
}
