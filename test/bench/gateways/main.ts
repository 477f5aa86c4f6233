import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Lab } from '../../e2e/harness/lab.ts';
import { AgentHost } from '../../e2e/mesh/agent-host.ts';
import { ServerHost } from '../../e2e/mesh/server-host.ts';
import { iperfMbps } from '../dataplane/iperf.ts';
import { percentile, round } from '../support/stats.ts';
import { baselineMbps } from './baseline.ts';

/**
 * bench:gateways — subnet routers and exit nodes, measured in one run of the lab:
 *  1. Throughput: iperf3 from a client to a host on a subnet, through a Trellis subnet router
 *     (agents on both, the route approved by the policy), against a hand-configured wireguard-go
 *     pair with forwarding and MASQUERADE on the same namespaces (baseline.ts), back to back in
 *     each round; the ratio is the median of the rounds' ratios (target >= 0.9).
 *  2. Failover: two routers for the prefix; KILLS times the primary's agent and wireguard-go
 *     are killed (SIGKILL) and the time from the signals to the end of the first new TCP
 *     connection from the client to the subnet host that succeeds through the other router is
 *     taken (target < 3 s); one prober process opens a new connection every 50 ms, so no process
 *     start per try is counted. The killed router is started again (it comes back as the
 *     standby) before the next kill.
 *  3. Leaks: the exit nodes' kill-switch runs, from `leaks.ts` in this folder (the exit-node
 *     side's module): `measureLeaks(): Promise<{ leakedPackets: number; leakedDnsQueries: number }>`
 *     (target 0 and 0). Without that module the two figures are null and the run says so.
 * Environment: ROUNDS (default 5), SECONDS per iperf3 run (default 3), KILLS (default 5), MTU (1420).
 * The last line is one JSON object.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const KILLS = Math.max(5, Number(process.env.KILLS ?? 5));
const MTU = Number(process.env.MTU ?? 1420);
const SITE = '10.77.2'; // the lab's first segment after the internet
const PREFIX = `${SITE}.0/24`;
const POLICY = `{
  "tagOwners": { "tag:router": [], "tag:c": [] },
  "autoApprovers": { "routes": { "${PREFIX}": ["tag:router"] } },
  "acls": [{ "action": "accept", "src": ["tag:c"], "dst": ["${PREFIX}:*", "tag:router:*"] }],
}`;

/** Which router a connection from the client to the subnet host went through (each masquerades). */
const routerOf = (reply: string | undefined) => ROUTERS.get(reply?.split('::ffff:')[1] ?? '');
const ROUTERS = new Map([
  [`${SITE}.1`, 'r1'],
  [`${SITE}.2`, 'r2'],
]);

const lab = await Lab.create({ tag: 'gwr' });
let exitCode = 0;
try {
  const flags = ['--mtu', String(MTU)];
  const [server, r1, r2, c] = await Promise.all([
    ServerHost.start(lab),
    AgentHost.start(lab, 'r1', flags),
    AgentHost.start(lab, 'r2', flags),
    AgentHost.start(lab, 'c', flags),
  ]);
  const site = await lab.addSegment();
  if (site.net !== SITE) throw new Error(`the site segment is ${site.net}, not ${SITE}`);
  await lab.attach(r1.host.netns, site, 'eth1', `${SITE}.1`);
  await lab.attach(r2.host.netns, site, 'eth1', `${SITE}.2`);
  const s = await lab.addHost('s', { segment: site });
  await s.serveTcp([80]);
  await server.setPolicy(POLICY);
  const routerKey = await server.preAuthKey({ tags: ['tag:router'] });
  const probe = { prefix: PREFIX, probe: { kind: 'tcp' as const, target: `${SITE}.10:80` } };
  await r1.up(server.url, routerKey, { advertiseRoutes: [PREFIX], routeProbes: [probe] });
  await r2.up(server.url, routerKey, { advertiseRoutes: [PREFIX], routeProbes: [probe] });
  await c.up(server.url, await server.preAuthKey({ tags: ['tag:c'] }), { acceptRoutes: true });
  await c.until(
    (x) => x.subnetRoutes?.some((o) => o.state === 'accepted') ?? false,
    'the client takes the route',
    30_000,
  );
  const target = `${SITE}.10`;
  const byName = { r1, r2 };
  let primary = (await c.status()).subnetRoutes!.find((o) => o.prefix === PREFIX)!.via as 'r1' | 'r2';
  const carrier = async () => {
    const res = await c.host.connectTcp(target, 80, 1_000);
    return res.ok ? routerOf(res.reply) : undefined;
  };
  while ((await carrier()) !== primary) await new Promise((r) => setTimeout(r, 100));

  // 1. Throughput, through the primary router and through the hand-made pair on the same namespaces.
  const runs = { router: [] as number[], baseline: [] as number[] };
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const order = round_ % 2 === 0 ? (['router', 'baseline'] as const) : (['baseline', 'router'] as const);
    for (const kind of order) {
      await new Promise((r) => setTimeout(r, 1_000));
      runs[kind].push(
        kind === 'router'
          ? await iperfMbps(c.host, s, target, SECONDS)
          : await baselineMbps({
              client: c.host,
              router: byName[primary].host,
              subnetHost: s,
              subnetIface: 'eth1',
              seconds: SECONDS,
              mtu: MTU,
            }),
      );
    }
    const [m, b] = [runs.router.at(-1)!, runs.baseline.at(-1)!];
    console.log(
      `round ${round_ + 1}: through the router ${m.toFixed(0)} Mbit/s, hand-configured ${b.toFixed(0)} (${(m / b).toFixed(3)})`,
    );
  }
  const ratio = percentile(
    runs.router.map((m, i) => m / runs.baseline[i]!),
    50,
  );
  const routerMbps = percentile(runs.router, 50);
  const baseline = percentile(runs.baseline, 50);
  console.log(
    `throughput, medians over ${ROUNDS} rounds of ${SECONDS} s at MTU ${MTU}: router ${routerMbps.toFixed(0)} Mbit/s, hand-configured wireguard-go with MASQUERADE ${baseline.toFixed(0)} Mbit/s; paired ratio ${ratio.toFixed(3)} (target >= 0.9)`,
  );

  // 2. Failover: kill the primary, time the first new connection through the other router.
  const failovers: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const dead = byName[primary];
    const standby = primary === 'r1' ? 'r2' : 'r1';
    await byName[standby].until(
      (x) => x.connected && x.self?.routes?.[0]?.role === 'standby',
      `${standby} standby`,
      30_000,
    );
    // New connections every 50 ms from one process, from before the kill until one gets through.
    const prober = await c.host.probeTcp(target, 80, { everyMs: 50, timeoutMs: 3_000 });
    const killedAt = performance.timeOrigin + (await dead.crash());
    let through: number | undefined;
    while (through === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      through = prober
        .connections()
        .filter((x) => x.opened >= killedAt && routerOf(x.reply) === standby)
        .reduce<number | undefined>((first, x) => Math.min(first ?? Infinity, x.ended), undefined);
      if (through === undefined && Date.now() - killedAt > 60_000)
        throw new Error(`no failover to ${standby} within 60 s`);
    }
    await prober.stop();
    const ms = through - killedAt;
    failovers.push(ms);
    console.log(`kill ${k + 1}: ${primary} killed, a new connection through ${standby} after ${ms.toFixed(0)} ms`);
    await dead.start();
    primary = standby;
  }
  const failoverMsMedian = percentile(failovers, 50);
  const failoverMsMax = Math.max(...failovers);
  console.log(
    `failover over ${KILLS} kills: median ${failoverMsMedian.toFixed(0)} ms, max ${failoverMsMax.toFixed(0)} ms (target < 3000; Tailscale: up to ~15 s)`,
  );

  // 3. Leaks, from the exit-node side's module when it is there.
  let leaks: { leakedPackets: number | null; leakedDnsQueries: number | null } = {
    leakedPackets: null,
    leakedDnsQueries: null,
  };
  const leaksModule = new URL('./leaks.ts', import.meta.url);
  if (existsSync(leaksModule)) {
    const { measureLeaks } = (await import(leaksModule.href)) as {
      measureLeaks: () => Promise<{ leakedPackets: number; leakedDnsQueries: number }>;
    };
    const measured = await measureLeaks();
    leaks = { leakedPackets: measured.leakedPackets, leakedDnsQueries: measured.leakedDnsQueries };
    console.log(
      `kill switch: ${measured.leakedPackets} packets and ${measured.leakedDnsQueries} DNS queries leaked (target 0)`,
    );
  } else {
    console.log('kill switch: not measured here (test/bench/gateways/leaks.ts, the exit-node side, is not present)');
  }

  console.log(
    JSON.stringify({
      routerMbps: round(routerMbps),
      baselineMbps: round(baseline),
      ratio: round(ratio, 3),
      failoverMsMedian: Math.round(failoverMsMedian),
      failoverMsMax: Math.round(failoverMsMax),
      failovers: failovers.length,
      ...leaks,
      rounds: ROUNDS,
      seconds: SECONDS,
      mtu: MTU,
    }),
  );
  for (const n of [server, r1, r2, c]) n.dispose();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await lab.cleanup();
}
process.exit(exitCode);
