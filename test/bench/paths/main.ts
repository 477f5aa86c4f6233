import { performance } from 'node:perf_hooks';
import { Lab } from '../../e2e/harness/lab.ts';
import { addNat } from '../../e2e/harness/nat.ts';
import type { AgentHost } from '../../e2e/mesh/agent-host.ts';
import { ServerHost } from '../../e2e/mesh/server-host.ts';
import { hasCommand, isRoot, missing } from '../../support/prerequisite-checks.ts';
import { measureBaseline } from '../dataplane/baseline.ts';
import { iperfMbps } from '../dataplane/iperf.ts';
import { percentile } from '../support/stats.ts';
import { bothOn, joinPair, trickle, type MeshPair } from './mesh-pair.ts';
import { relayCounters, serverCpuDuring, type RelayCounters } from './relay-readings.ts';

/**
 * bench:paths — how fast a pair gets traffic and a direct path, and what each path carries.
 * One lab, one server process (relay on UDP 3478, WebSocket relay on its HTTP port), and three
 * pairs of real agents, each pair behind its own NATs and kept apart by the policy:
 *  - direct: both behind endpoint-independent NATs (paths topology a): relay first, then direct;
 *  - udp relay: one behind a symmetric NAT (topology b): the trial fails, the pair stays relayed;
 *  - ws relay: one behind a NAT that drops all UDP (topology e): its half goes over a WebSocket.
 * Times are measured on the direct pair (and printed for the others). Throughput: iperf3 TCP A -> B
 * over each pair, and the baseline, a hand-configured wireguard-go pair on two more hosts behind
 * the direct pair's two NATs (dataplane/baseline.ts), at the same MTU; ROUNDS rounds, each
 * running the four back to back in a rotating order; medians, and the median of each round's
 * ratios. The server's CPU time is read around each relayed run.
 * Environment: ROUNDS (default 3), SECONDS per iperf3 run (default 5), MTU (default 1280, the
 * agent's own default); TRELLIS_BENCH_LOG=1 prints the agents' logs (stderr) at the end. The
 * last line is one JSON object.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const MTU = Number(process.env.MTU ?? 1280);
const RELAY_PORT = 3478;
const BASELINE_PORT = 51900;
const TAGS = ['direct', 'udp', 'ws'] as const;
const POLICY = `{
  "tagOwners": { ${TAGS.map((t) => `"tag:${t}": []`).join(', ')} },
  "acls": [ ${TAGS.map((t) => `{ "action": "accept", "src": ["tag:${t}"], "dst": ["tag:${t}:*"] }`).join(', ')} ],
}`;
const TARGETS = { firstPacketMs: 1_000, directPathMs: 3_000, udpRelayToDirect: 0.5 };

const DEFINITIONS = `definitions:
  ready            both agents' \`up\` requests (what \`trellis up\` sends) have returned: registered, map in hand
  first packet     ready -> first ICMP echo reply A <- B over the mesh (ping every 10 ms; includes map delivery
                   to the first joiner, both WireGuard handshakes with the server and the relayed handshake A-B)
  direct path      ready -> both agents' status shows path 'direct' for each other (status polled every 10 ms,
                   while A pings B every 100 ms)
  throughput       iperf3 TCP A -> B, ${SECONDS} s per run, ${ROUNDS} rounds, median; MTU ${MTU} everywhere
  baseline         hand-configured wireguard-go pair (wg + ip, no Trellis code) on two more hosts behind the
                   direct pair's two NATs (endpoints: the other NAT's public address), each wireguard-go in a
                   session of its own like the agents' (dataplane/baseline.ts says why that matters)
  relay CPU/Gbit   server process CPU seconds (user+system, all threads, /proc) during a relayed run, divided
                   by the Gbit received; = cores the server keeps busy per Gbit/s relayed`;

const lacking = missing([
  isRoot(),
  hasCommand('wireguard-go'),
  hasCommand('wg', 'wireguard-tools'),
  hasCommand('nft', 'nftables'),
  hasCommand('iptables'),
  hasCommand('iperf3'),
]);
if (lacking.length > 0) {
  console.error(`bench:paths cannot run: ${lacking.join('; ')}`);
  process.exit(1);
}

const lab = await Lab.create();
const agents: AgentHost[] = [];
let server: ServerHost | undefined;
// Temporary state directories go on any exit; the lab's own exit hook kills what runs in its namespaces.
process.once('exit', () => {
  for (const n of agents) n.dispose();
  server?.dispose();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const ms = (n: number) => `${n.toFixed(0)} ms`;
const mbit = (n: number) => `${n.toFixed(0)} Mbit/s`;
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const relayTrials = (n: AgentHost) => (n.output.match(/no direct path; staying on the relay/g) ?? []).length;

let exitCode = 0;
try {
  console.log(DEFINITIONS);
  const flags = ['--mtu', String(MTU)];
  server = await ServerHost.start(lab, ['--relay.udpPort', String(RELAY_PORT)]);
  await server.setPolicy(POLICY);
  const nats = {
    eimA: await addNat(lab, 'eimA'),
    eimB: await addNat(lab, 'eimB'),
    udpA: await addNat(lab, 'udpA'),
    udpB: await addNat(lab, 'udpB', { mapping: 'symmetric' }),
    wsA: await addNat(lab, 'wsA', { blockUdp: true }),
    wsB: await addNat(lab, 'wsB'),
  };

  // 1. Direct: relay first, then the trial moves the pair to the NATs' public mappings.
  const direct = await joinPair(
    server,
    'direct',
    [await nats.eimA.addHost('da'), await nats.eimB.addHost('db')],
    flags,
    agents,
  );
  let traffic = trickle(direct);
  const directPathMs = (await bothOn(direct, 'direct', 20_000)) - direct.ready;
  await traffic.stop();
  const directEndpoint = (await direct.peerOf(direct.a, direct.b))?.endpoint;
  console.log(
    `direct pair (both behind endpoint-independent NATs): maps ${ms(direct.timings.mapsMs)}, first packet ${ms(direct.timings.firstPacketMs)}, direct path ${ms(directPathMs)} (A -> ${directEndpoint}) after ready`,
  );

  // 2. UDP relay: wait for the first trial to fail, so the runs below measure the relay itself.
  const udp = await joinPair(
    server,
    'udp',
    [await nats.udpA.addHost('ua'), await nats.udpB.addHost('ub')],
    flags,
    agents,
  );
  traffic = trickle(udp);
  const trialDeadline = performance.now() + 20_000;
  while (relayTrials(udp.a) === 0 || relayTrials(udp.b) === 0) {
    if (performance.now() > trialDeadline)
      throw new Error(`the relayed pair ran no path trial within 20 s:\n${udp.a.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await bothOn(udp, 'relay', 5_000);
  await traffic.stop();
  console.log(
    `udp relay pair (one behind a symmetric NAT): first packet ${ms(udp.timings.firstPacketMs)} after ready; trial failed as expected, path 'relay' (${(await udp.peerOf(udp.a, udp.b))?.endpoint})`,
  );

  // 3. WebSocket relay: UDP is never proven from A, so its agent bridges WireGuard to a WebSocket.
  const ws = await joinPair(
    server,
    'ws',
    [await nats.wsA.addHost('wa'), await nats.wsB.addHost('wb')],
    flags,
    agents,
    30_000,
  );
  const wsTransport = (await ws.a.status()).relayTransport;
  if (wsTransport !== 'websocket')
    throw new Error(`the agent behind the UDP-blocking NAT uses relay transport ${wsTransport}, not websocket`);
  console.log(
    `ws relay pair (one behind a NAT that drops UDP): first packet ${ms(ws.timings.firstPacketMs)} after ready; A's relay transport: ${wsTransport}`,
  );

  // 4. Throughput, rounds of four runs back to back; the order rotates so drift in load favours none.
  const runs = { baseline: [] as number[], direct: [] as number[], udp: [] as number[], ws: [] as number[] };
  const cpuPerGbit = { udp: [] as number[], ws: [] as number[] };
  const counters = { udp: [] as RelayCounters[], ws: [] as RelayCounters[] };
  const directFellBack: number[] = [];
  // Hosts of their own: addresses appearing on an agent's host make its agent check its paths.
  const baselineHosts = [await nats.eimA.addHost('ba'), await nats.eimB.addHost('bb')] as const;
  const udpTrialsBefore = relayTrials(udp.a);
  const relayed = async (kind: 'udp' | 'ws', p: MeshPair) => {
    const before = await relayCounters(server!);
    const { result: mbps, cpuSeconds } = await serverCpuDuring(server!, () =>
      iperfMbps(p.a.host, p.b.host, p.ipB, SECONDS),
    );
    const after = await relayCounters(server!);
    counters[kind].push({ forwarded: after.forwarded - before.forwarded, dropped: after.dropped - before.dropped });
    runs[kind].push(mbps);
    cpuPerGbit[kind].push(cpuSeconds / ((mbps * SECONDS) / 1000));
  };
  const steps = [
    async () =>
      runs.baseline.push(
        (
          await measureBaseline({
            hosts: baselineHosts,
            seconds: SECONDS,
            mtu: MTU,
            listenPort: BASELINE_PORT,
            keepaliveSeconds: 1,
            endpoints: [`${nats.eimB.publicAddress}:${BASELINE_PORT}`, `${nats.eimA.publicAddress}:${BASELINE_PORT}`],
          })
        ).mbps,
      ),
    async () => {
      runs.direct.push(await iperfMbps(direct.a.host, direct.b.host, direct.ipB, SECONDS));
      if ((await direct.peerOf(direct.a, direct.b))?.path !== 'direct') directFellBack.push(runs.direct.length);
    },
    () => relayed('udp', udp),
    () => relayed('ws', ws),
  ];
  const ratios = { udp: [] as number[], ws: [] as number[], direct: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < steps.length; i++) await steps[(round + i) % steps.length]!();
    const [b, d, u, w] = [runs.baseline, runs.direct, runs.udp, runs.ws].map((r) => r.at(-1)!) as [
      number,
      number,
      number,
      number,
    ];
    ratios.udp.push(u / d);
    ratios.ws.push(w / d);
    ratios.direct.push(d / b);
    console.log(
      `round ${round + 1}: baseline ${mbit(b)}, direct ${mbit(d)}, udp relay ${mbit(u)} (server ${cpuPerGbit.udp.at(-1)!.toFixed(2)} CPU s/Gbit), ws relay ${mbit(w)} (server ${cpuPerGbit.ws.at(-1)!.toFixed(2)} CPU s/Gbit)`,
    );
  }
  const udpTrials = relayTrials(udp.a) - udpTrialsBefore;
  const udpPath = (await udp.peerOf(udp.a, udp.b))?.path;
  const directPathAfter = (await direct.peerOf(direct.a, direct.b))?.path;

  const med = (v: number[]) => percentile(v, 50);
  const figures = {
    baselineMbps: med(runs.baseline),
    directMbps: med(runs.direct),
    udpRelayMbps: med(runs.udp),
    wsRelayMbps: med(runs.ws),
    udpRelayToDirect: med(ratios.udp),
    wsRelayToDirect: med(ratios.ws),
    directToBaseline: med(ratios.direct),
    relayCpuSecondsPerGbit: med(cpuPerGbit.udp),
    wsRelayCpuSecondsPerGbit: med(cpuPerGbit.ws),
  };
  const sum = (list: RelayCounters[], k: keyof RelayCounters) => list.reduce((s, c) => s + c[k], 0);
  console.log(`medians over ${ROUNDS} rounds of ${SECONDS} s at MTU ${MTU}:`);
  console.log(`  baseline (hand-configured wireguard-go through the same NATs) ${mbit(figures.baselineMbps)}`);
  console.log(
    `  direct     ${mbit(figures.directMbps)}  (direct/baseline ${figures.directToBaseline.toFixed(3)})${directFellBack.length ? `; NOT direct after run(s) ${directFellBack.join(', ')}` : ''}; path afterwards: ${directPathAfter}`,
  );
  console.log(
    `  udp relay  ${mbit(figures.udpRelayMbps)}  (udp relay/direct ${figures.udpRelayToDirect.toFixed(3)}); server ${figures.relayCpuSecondsPerGbit.toFixed(2)} CPU s per Gbit (= cores per Gbit/s); relay forwarded ${sum(counters.udp, 'forwarded')} packets, dropped ${sum(counters.udp, 'dropped')}; failed path trials (retries) while the rounds ran: ${udpTrials}; path afterwards: ${udpPath}`,
  );
  console.log(
    `  ws relay   ${mbit(figures.wsRelayMbps)}  (ws relay/direct ${figures.wsRelayToDirect.toFixed(3)}); server ${figures.wsRelayCpuSecondsPerGbit.toFixed(2)} CPU s per Gbit; relay forwarded ${sum(counters.ws, 'forwarded')} packets, dropped ${sum(counters.ws, 'dropped')}`,
  );
  const pass = {
    firstPacket: direct.timings.firstPacketMs < TARGETS.firstPacketMs,
    directPath: directPathMs < TARGETS.directPathMs,
    udpRelay: figures.udpRelayToDirect >= TARGETS.udpRelayToDirect,
  };
  console.log('targets:');
  console.log(
    `  ${verdict(pass.firstPacket)}  first packet ${ms(direct.timings.firstPacketMs)} (target < ${TARGETS.firstPacketMs} ms)`,
  );
  console.log(`  ${verdict(pass.directPath)}  direct path ${ms(directPathMs)} (target < ${TARGETS.directPathMs} ms)`);
  console.log(
    `  ${verdict(pass.udpRelay)}  udp relay/direct ${figures.udpRelayToDirect.toFixed(3)} (target >= ${TARGETS.udpRelayToDirect})`,
  );

  const r = (n: number, digits = 0) => Number(n.toFixed(digits));
  console.log(
    JSON.stringify({
      directMbps: r(figures.directMbps),
      udpRelayMbps: r(figures.udpRelayMbps),
      wsRelayMbps: r(figures.wsRelayMbps),
      baselineMbps: r(figures.baselineMbps),
      firstPacketMs: r(direct.timings.firstPacketMs),
      directPathMs: r(directPathMs),
      relayCpuSecondsPerGbit: r(figures.relayCpuSecondsPerGbit, 3),
      wsRelayCpuSecondsPerGbit: r(figures.wsRelayCpuSecondsPerGbit, 3),
      udpRelayToDirect: r(figures.udpRelayToDirect, 3),
      wsRelayToDirect: r(figures.wsRelayToDirect, 3),
      directToBaseline: r(figures.directToBaseline, 3),
      pass,
      mapsMs: r(direct.timings.mapsMs),
      udpFirstPacketMs: r(udp.timings.firstPacketMs),
      wsFirstPacketMs: r(ws.timings.firstPacketMs),
      udpRelayTrialsDuringRounds: udpTrials,
      relayDropped: sum(counters.udp, 'dropped'),
      mtu: MTU,
      rounds: ROUNDS,
      seconds: SECONDS,
      runs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((x) => r(x))])),
    }),
  );
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  if (process.env.TRELLIS_BENCH_LOG) for (const n of agents) console.error(`---- agent ${n.label}\n${n.output}`);
  await lab.cleanup();
}
process.exit(exitCode);
