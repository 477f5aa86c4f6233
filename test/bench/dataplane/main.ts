import { performance } from 'node:perf_hooks';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { AgentHost } from '../../e2e/mesh/agent-host.ts';
import { ServerHost } from '../../e2e/mesh/server-host.ts';
import { percentile } from '../support/stats.ts';
import { measureBaseline } from './baseline.ts';
import { iperfMbps } from './iperf.ts';

/**
 * bench:dataplane — what the agent costs on the data path and how fast a node becomes useful.
 *  1. A server process and agents on three lab namespaces (A, B, C), as in the e2e suite.
 *  2. Up to first ping: B joins; then A's `up` request (what `trellis up` sends the agent) and
 *     a ping loop to B; the time from the request to the first echo reply. C does the same
 *     through the real CLI process (its start-up included), reported beside it.
 *  3. Throughput: iperf3 A -> B across the mesh, and across a hand-configured wireguard-go pair
 *     on the same two namespaces (baseline.ts), back to back in each of several rounds; the
 *     ratio is the median of the rounds' ratios. Both at the same MTU (the agent's --mtu), so
 *     the ratio is what the agent costs, not a difference in packet size.
 * Environment: ROUNDS (default 5), SECONDS per iperf3 run (default 3), MTU (default 1420).
 * The last line is one JSON object.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const MTU = Number(process.env.MTU ?? 1420);

async function firstPingMs(from: Host, target: string, start: number, deadlineMs = 10_000): Promise<number> {
  // One ping process that keeps sending every 10 ms until the first reply (or the deadline).
  await from.exec('ping', ['-n', '-q', '-c', '1', '-i', '0.01', '-w', String(deadlineMs / 1000), target], { timeoutMs: deadlineMs + 5_000 });
  return performance.now() - start;
}

const lab = await Lab.create();
let exitCode = 0;
try {
  const flags = ['--mtu', String(MTU)];
  const [server, a, b, c] = await Promise.all([
    ServerHost.start(lab), AgentHost.start(lab, 'a', flags), AgentHost.start(lab, 'b', flags), AgentHost.start(lab, 'c', flags),
  ]);
  const key = await server.preAuthKey({ tags: ['tag:bench'] });
  const bUp = await b.up(server.url, key);
  const bIp = bUp.self!.ipv4;

  const t0 = performance.now();
  await a.up(server.url, key);
  const upReturnedMs = performance.now() - t0;
  const upToPingMs = await firstPingMs(a.host, bIp, t0);
  console.log(`up -> first ping (local API request, as trellis up sends it): ${upToPingMs.toFixed(0)} ms (up answered after ${upReturnedMs.toFixed(0)} ms)`);

  const t1 = performance.now();
  const cli = await c.cli(['up', '--server', server.url, '--auth-key', key, '--hostname', 'c']);
  if (cli.exitCode !== 0) throw new Error(`trellis up on c failed: ${cli.stderr}`);
  const cliUpToPingMs = await firstPingMs(c.host, bIp, t1);
  console.log(`up -> first ping (the trellis CLI process, its start-up included): ${cliUpToPingMs.toFixed(0)} ms`);

  const mesh: number[] = [];
  const baseline: number[] = [];
  const ratios: number[] = [];
  const runMesh = async () => mesh.push(await iperfMbps(a.host, b.host, bIp, SECONDS));
  const runBaseline = async () => baseline.push((await measureBaseline({ hosts: [a.host, b.host], seconds: SECONDS, mtu: MTU })).mbps);
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so a machine getting busier or quieter favours neither.
    for (const step of round % 2 ? [runBaseline, runMesh] : [runMesh, runBaseline]) await step();
    ratios.push(mesh.at(-1)! / baseline.at(-1)!);
    console.log(`round ${round}: mesh ${mesh.at(-1)!.toFixed(0)} Mbit/s, hand-configured wireguard-go ${baseline.at(-1)!.toFixed(0)} Mbit/s (${ratios.at(-1)!.toFixed(3)})`);
  }
  const meshMbps = percentile(mesh, 50);
  const baselineMbps = percentile(baseline, 50);
  // Each round's pair ran back to back under the same load; their ratios' median is the figure.
  const ratio = percentile(ratios, 50);
  console.log(`medians over ${ROUNDS} rounds of ${SECONDS} s at MTU ${MTU}: mesh ${meshMbps.toFixed(0)} Mbit/s, baseline ${baselineMbps.toFixed(0)} Mbit/s; median paired ratio ${ratio.toFixed(3)} (target >= 0.95)`);
  console.log(`up to first ping ${upToPingMs.toFixed(0)} ms (target < 1000 ms)`);
  console.log(JSON.stringify({
    meshMbps: Math.round(meshMbps), baselineMbps: Math.round(baselineMbps), ratio: Number(ratio.toFixed(3)),
    upToPingMs: Math.round(upToPingMs), upReturnedMs: Math.round(upReturnedMs), cliUpToPingMs: Math.round(cliUpToPingMs),
    mtu: MTU, rounds: ROUNDS, seconds: SECONDS, meshRuns: mesh.map(Math.round), baselineRuns: baseline.map(Math.round),
    roundRatios: ratios.map((r) => Number(r.toFixed(3))),
  }));
  for (const n of [a, b, c]) n.dispose();
  server.dispose();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await lab.cleanup();
}
process.exit(exitCode);
