import { pathToFileURL } from 'node:url';
import { ExitNodeLab } from '../../e2e/mesh/exit-node-lab.ts';
import { hasCommand, isRoot, missing } from '../../support/prerequisite-checks.ts';

/**
 * The kill-switch part of bench:gateways (main.ts calls `measureLeaks`; run alone with
 * `node --import tsx test/bench/gateways/leaks.ts`). In the exit node lab (test/e2e/mesh/
 * exit-node-lab.ts), RUNS times: with an exit node selected, SIGKILL the client's agent and try
 * every way out (TCP to the internet on IPv4 and IPv6, the LAN, DNS to the LAN's resolver, ping),
 * bring the agent back, SIGKILL the exit node and try again; counted at the client's eth0 egress
 * hook and at the LAN resolver. Side by side, the baseline: the same after the agent's rules went
 * with it (what a kill switch that does not outlive its daemon leaves). Target: 0 and 0.
 * Environment: LEAK_RUNS (default 3).
 */
export interface LeakFigures {
  runs: number;
  /** Packets out of the client's underlay but to its WireGuard and control endpoints, over all runs. */
  leakedPackets: number;
  /** Queries that reached the LAN's resolver, over all runs. */
  leakedDnsQueries: number;
  /** Connections, queries and pings tried while blocked, and how many were answered. */
  attempts: number;
  reached: number;
  /** IPv6 connections tried while blocked that hung until their timeout instead of failing at once. */
  ipv6Hangs: number;
  ipv6FailMsMax: number;
  baseline: { leakedPackets: number; leakedDnsQueries: number; attempts: number; reached: number };
}

export async function measureLeaks(runs = Number(process.env.LEAK_RUNS ?? 3)): Promise<LeakFigures> {
  const lab = await ExitNodeLab.start();
  try {
    const out: LeakFigures = {
      runs,
      leakedPackets: 0,
      leakedDnsQueries: 0,
      attempts: 0,
      reached: 0,
      ipv6Hangs: 0,
      ipv6FailMsMax: 0,
      baseline: { leakedPackets: 0, leakedDnsQueries: 0, attempts: 0, reached: 0 },
    };
    for (let i = 0; i < runs; i++) {
      const f = await lab.killSwitchRun();
      out.leakedPackets += f.leakedPackets;
      out.leakedDnsQueries += f.leakedDnsQueries;
      out.attempts += f.attempts;
      out.reached += f.reached;
      for (const o of f.ipv6Outcomes) {
        if (o.reason === 'timeout') out.ipv6Hangs++;
        else if (!o.ok) out.ipv6FailMsMax = Math.max(out.ipv6FailMsMax, o.ms);
      }
    }
    out.baseline = await lab.withoutKillSwitchRun();
    return out;
  } finally {
    await lab.cleanup();
  }
}

export function describeLeaks(f: LeakFigures): string {
  return [
    `kill switch, ${f.runs} runs (client agent SIGKILLed, then the exit node):`,
    `  leaked packets      ${f.leakedPackets}   (without a kill switch that outlives the agent: ${f.baseline.leakedPackets})`,
    `  leaked DNS queries  ${f.leakedDnsQueries}   (without: ${f.baseline.leakedDnsQueries})`,
    `  ways out answered   ${f.reached} of ${f.attempts}   (without: ${f.baseline.reached} of ${f.baseline.attempts})`,
    `  IPv6 hangs          ${f.ipv6Hangs}   (refused within ${f.ipv6FailMsMax} ms at most)`,
    `  target: 0 leaked packets, 0 leaked DNS queries`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const lacking = missing([
    isRoot(),
    hasCommand('wireguard-go'),
    hasCommand('nft', 'nftables'),
    hasCommand('iptables'),
  ]);
  if (lacking.length > 0) {
    console.error(`bench:gateways leaks needs ${lacking.join('; ')}`);
    process.exit(1);
  }
  const f = await measureLeaks();
  console.log(describeLeaks(f));
  console.log(JSON.stringify({ leakedPackets: f.leakedPackets, leakedDnsQueries: f.leakedDnsQueries, leaks: f }));
}
