import { performance } from 'node:perf_hooks';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { AgentHost } from '../../e2e/mesh/agent-host.ts';
import { ServerHost } from '../../e2e/mesh/server-host.ts';
import { cpuSeconds, percentile, round } from '../support/stats.ts';
import { measureBaseline, type BaselineSession } from './baseline.ts';
import { iperfMbps } from './iperf.ts';

/**
 * bench:dataplane — what the agent costs on the data path and how fast a node becomes useful.
 *  1. A server process and agents on three lab namespaces (A, B, C), as in the e2e suite.
 *  2. Up to first ping: B joins; then A's `up` request (what `trellis up` sends the agent) and
 *     a ping loop to B; the time from the request to the first echo reply. C does the same
 *     through the real CLI process (its start-up included), reported beside it.
 *  3. Throughput: iperf3 A -> B across the mesh, and across a hand-configured wireguard-go pair
 *     on the same two namespaces (baseline.ts), back to back in each of several rounds; the
 *     ratio is the median of the rounds' ratios. Both at the same MTU (the agent's --mtu), and
 *     both with wireguard-go in a session of its own, so the ratio is what the agent costs, not
 *     a difference in packet size or CPU scheduling. The same pair started in iperf3's session
 *     runs too and is printed beside it, with every run's wireguard-go CPU per Gbit.
 * Environment: ROUNDS (default 7), SECONDS per iperf3 run (default 4), MTU (default 1420).
 * The last line is one JSON object.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 4);
const MTU = Number(process.env.MTU ?? 1420);

interface Run {
  mbps: number;
  /** wireguard-go CPU time, both ends, per Gbit received. */
  cpuSecondsPerGbit: number;
}
const cpuOf = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
const perGbit = (cpu: number, mbps: number) => cpu / ((mbps * SECONDS) / 1000);

async function firstPingMs(from: Host, target: string, start: number, deadlineMs = 10_000): Promise<number> {
  // One ping process that keeps sending every 10 ms until the first reply (or the deadline).
  await from.exec('ping', ['-n', '-q', '-c', '1', '-i', '0.01', '-w', String(deadlineMs / 1000), target], {
    timeoutMs: deadlineMs + 5_000,
  });
  return performance.now() - start;
}

const lab = await Lab.create();
let exitCode = 0;
try {
  const flags = ['--mtu', String(MTU)];
  const [server, a, b, c] = await Promise.all([
    ServerHost.start(lab),
    AgentHost.start(lab, 'a', flags),
    AgentHost.start(lab, 'b', flags),
    AgentHost.start(lab, 'c', flags),
  ]);
  const key = await server.preAuthKey({ tags: ['tag:bench'] });
  const bUp = await b.up(server.url, key);
  const bIp = bUp.self!.ipv4;

  const t0 = performance.now();
  await a.up(server.url, key);
  const upReturnedMs = performance.now() - t0;
  const upToPingMs = await firstPingMs(a.host, bIp, t0);
  console.log(
    `up -> first ping (local API request, as trellis up sends it): ${upToPingMs.toFixed(0)} ms (up answered after ${upReturnedMs.toFixed(0)} ms)`,
  );

  const t1 = performance.now();
  const cli = await c.cli(['up', '--server', server.url, '--auth-key', key, '--hostname', 'c']);
  if (cli.exitCode !== 0) throw new Error(`trellis up on c failed: ${cli.stderr}`);
  const cliUpToPingMs = await firstPingMs(c.host, bIp, t1);
  console.log(`up -> first ping (the trellis CLI process, its start-up included): ${cliUpToPingMs.toFixed(0)} ms`);

  // Three runs per round, in a rotating order so that drift in load favours none of them.
  const runs = { mesh: [] as Run[], own: [] as Run[], load: [] as Run[] };
  const meshPids = [...(await a.wireguardGoPids()), ...(await b.wireguardGoPids())];
  const baselineRun = async (session: BaselineSession): Promise<Run> => {
    const r = await measureBaseline({ hosts: [a.host, b.host], seconds: SECONDS, mtu: MTU, session });
    return { mbps: r.mbps, cpuSecondsPerGbit: perGbit(r.wireguardCpuSeconds, r.mbps) };
  };
  const steps = {
    mesh: async () => {
      const before = cpuOf(meshPids);
      const mbps = await iperfMbps(a.host, b.host, bIp, SECONDS);
      return { mbps, cpuSecondsPerGbit: perGbit(cpuOf(meshPids) - before, mbps) };
    },
    own: () => baselineRun('own'),
    load: () => baselineRun('load'),
  };
  const order = ['mesh', 'own', 'load'] as const;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < order.length; i++) {
      const kind = order[(round + i) % order.length]!;
      // A quiet second first: the previous run's processes and interfaces are still being torn down.
      await new Promise((r) => setTimeout(r, 1_000));
      runs[kind].push(await steps[kind]());
    }
    const [m, o, l] = order.map((k) => runs[k].at(-1)!);
    console.log(
      `round ${round + 1}: mesh ${m!.mbps.toFixed(0)} Mbit/s, hand-configured wireguard-go ${o!.mbps.toFixed(0)} (${(m!.mbps / o!.mbps).toFixed(3)}), ` +
        `the same in the load's session ${l!.mbps.toFixed(0)} (${(m!.mbps / l!.mbps).toFixed(3)})`,
    );
  }
  // Each round's runs ran back to back under the same load; the median of their ratios is the figure.
  const pairedRatios = (kind: 'own' | 'load') => runs.mesh.map((m, i) => m.mbps / runs[kind][i]!.mbps);
  const ratioTo = (kind: 'own' | 'load') => percentile(pairedRatios(kind), 50);
  const median = (kind: keyof typeof runs, field: keyof Run) =>
    percentile(
      runs[kind].map((r) => r[field]),
      50,
    );
  const ratio = ratioTo('own');
  const ratioLoadSession = ratioTo('load');
  const [meshMbps, baselineMbps, loadSessionMbps] = order.map((k) => median(k, 'mbps'));
  const [meshCpu, baselineCpu, loadSessionCpu] = order.map((k) => median(k, 'cpuSecondsPerGbit'));
  console.log(`medians over ${ROUNDS} rounds of ${SECONDS} s at MTU ${MTU}:`);
  console.log(`  mesh ${meshMbps!.toFixed(0)} Mbit/s, wireguard-go CPU ${meshCpu!.toFixed(2)} s/Gbit (both ends)`);
  console.log(
    `  hand-configured wireguard-go (own session, as the agent and any daemon run it) ${baselineMbps!.toFixed(0)} Mbit/s, ${baselineCpu!.toFixed(2)} s/Gbit; paired ratio ${ratio.toFixed(3)} (target >= 0.95)`,
  );
  console.log(
    `  hand-configured wireguard-go in iperf3's session ${loadSessionMbps!.toFixed(0)} Mbit/s, ${loadSessionCpu!.toFixed(2)} s/Gbit; paired ratio ${ratioLoadSession.toFixed(3)} (for reference: see baseline.ts)`,
  );
  console.log(`up to first ping ${upToPingMs.toFixed(0)} ms (target < 1000 ms)`);
  const rounded = (kind: keyof typeof runs) => runs[kind].map((r) => Math.round(r.mbps));
  console.log(
    JSON.stringify({
      meshMbps: Math.round(meshMbps!),
      baselineMbps: Math.round(baselineMbps!),
      ratio: Number(ratio.toFixed(3)),
      upToPingMs: Math.round(upToPingMs),
      upReturnedMs: Math.round(upReturnedMs),
      cliUpToPingMs: Math.round(cliUpToPingMs),
      loadSessionBaselineMbps: Math.round(loadSessionMbps!),
      ratioLoadSession: Number(ratioLoadSession.toFixed(3)),
      cpuSecondsPerGbit: {
        mesh: round(meshCpu!, 2),
        baseline: round(baselineCpu!, 2),
        loadSessionBaseline: round(loadSessionCpu!, 2),
      },
      mtu: MTU,
      rounds: ROUNDS,
      seconds: SECONDS,
      meshRuns: rounded('mesh'),
      baselineRuns: rounded('own'),
      loadSessionRuns: rounded('load'),
      roundRatios: pairedRatios('own').map((r) => round(r, 3)),
    }),
  );
  for (const n of [a, b, c]) n.dispose();
  server.dispose();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await lab.cleanup();
}
process.exit(exitCode);
