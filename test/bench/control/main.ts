/**
 * bench:control: the coordination server under N simulated nodes (in processes of their own),
 * on a segmented policy. Measures join throughput, join propagation, policy delivery, server
 * memory and CPU, bytes per map, and a floor: the same bytes pushed by a bare ws server to the
 * same number of clients in the same run. With replicas (on PostgreSQL, behind haproxy) also
 * the propagation of a join made through one replica to the nodes on the others, and failover:
 * one replica killed with SIGKILL, until every node it held has a map again.
 *
 * `--store postgres --replicas N` starts its own PostgreSQL 15 in a temp directory, N
 * `trellis-server serve` processes on loopback ports and haproxy (TCP, round robin, health
 * checks) in front, as docs/replicas.md deploys them: nodes join and stream through haproxy,
 * so the spread over replicas, the cut of a dead replica's streams and the reconnect path are
 * the ones operators get (nodes given the replicas' own URLs would measure an agent setup
 * nobody runs). Probe joins go to replica 0 itself, so "cross-replica" is the time until every
 * peer streaming from another replica has the new node. Failover: replica with the most streams
 * killed with SIGKILL; from the signal until the last of its nodes has a map (full or resumed)
 * from another replica. The replicas' CPU is summed against the floor's one process; the
 * PostgreSQL server's is not counted.
 *
 *   npm run bench:control -- --nodes 10000
 *   npm run bench:control -- --nodes 50000 --http-joins 2000
 *   npm run bench:control -- --nodes 10000 --store postgres --replicas 3
 *
 * BENCH_CPU_PROF=DIR writes V8 CPU profiles there: the single server's whole run, or each
 * replica's policy change and each surviving replica's failover (cpu-profile-preload.ts);
 * test/bench/support/profile-window.ts reads them.
 */
import { parseArgs } from 'node:util';
import { cpuSeconds, mean, percentile, round } from '../support/stats.ts';
import { openFileLimit } from './descriptors.ts';
import { cpuOf, floorServer, replicas, rssOf, singleServer, type Deployment } from './deployment.ts';
import { Fleet, type FleetEvents } from './fleet.ts';
import { watchPauses } from './server-pauses.ts';
import { SimNode, now } from './sim-node.ts';
import { segmentedPolicy, teamCount, teamOf, teamTag, teamsThatSee } from './topology.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2000' },
    probes: { type: 'string', default: '200' },
    store: { type: 'string', default: 'sqlite' },
    replicas: { type: 'string', default: '1' },
    workers: { type: 'string' },
    /** Joins made over HTTP and timed; on SQLite the other nodes are first seeded in the server process. */
    'http-joins': { type: 'string' },
  },
});
const N = Number(values.nodes);
const PROBES = Number(values.probes);
const TEAMS = teamCount(N);
const STORE = values.store;
const REPLICAS = Number(values.replicas);
if (STORE !== 'sqlite' && STORE !== 'postgres') throw new Error('--store is sqlite or postgres');
if (STORE === 'sqlite' && REPLICAS !== 1) throw new Error('replicas share PostgreSQL: --store postgres');
const REPLICATED = STORE === 'postgres';
// Every open stream is a descriptor in the server (and in the floor) process: a machine whose
// limit is lower than N joins every node but opens only as many streams as fit, and says so.
const FD_LIMIT = openFileLimit();
const STREAMS = Math.min(N, FD_LIMIT - 1_000);
// Replicas are real `trellis-server` processes: every join goes over HTTP.
const HTTP_JOINS = REPLICATED ? N : Math.min(N, Number(values['http-joins'] ?? 10_000));
// The simulator spreads over processes so that it is not what is measured; each holds at
// most 8,000 streams (well inside its own descriptor limit).
const WORKERS = Number(values.workers ?? Math.max(1, Math.ceil(STREAMS / 8_000)));

const log = (s: string) => process.stdout.write(`${s}\n`);

/** Stopped when the run fails too, so that no replica, haproxy or PostgreSQL outlives it. */
let deployment: Deployment | undefined;

async function main(): Promise<void> {
  const d: Deployment = REPLICATED ? await replicas(REPLICAS, STREAMS, FD_LIMIT) : await singleServer();
  deployment = d;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(d.urls[0] + path, {
      method,
      headers: { authorization: `Bearer ${d.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  log(
    `bench:control  nodes=${N} teams=${TEAMS} probes=${PROBES} store=${STORE} replicas=${REPLICAS}  (server pids ${d.pids().join(', ')}${REPLICATED ? `; haproxy at ${d.urls.join(', ')}` : ''})`,
  );

  await admin('PUT', '/api/v1/policy', { policy: segmentedPolicy(TEAMS, 'initial') });
  const keys: string[] = [];
  for (let t = 0; t < TEAMS; t++) {
    const issued = await admin('POST', '/api/v1/preauth-keys', {
      tags: [teamTag(t)],
      reusable: true,
      expiresInSeconds: 86400,
    });
    keys.push(issued.secret as string);
  }

  // Bookkeeping of what the simulated nodes receive (times are epoch ms, from every process).
  const fullBytes: number[] = [];
  /** The server each node's last map came from (by its relay port): a full map, or a resume after a move. */
  const serverOf = new Map<number, number>();
  type Probe = {
    start: number;
    /** When the join's HTTP answer came: the rest of its propagation is the fan-out. */
    answered: number;
    via: number;
    expected: number;
    got: number;
    last: number;
    otherExpected: number;
    otherGot: number;
    otherLast: number;
  };
  const probes = new Map<string, Probe>();
  const filterAt = new Map<number, number>();
  const filterBytes = new Map<number, number>();
  const remappedAt = new Map<number, number>();
  /** Nodes whose first map after the failover was a resume delta, not a full map. */
  const resumedAfter = new Set<number>();
  let sampleDelta = '';
  const seen = (e: FleetEvents) => {
    for (const [index, , bytes, relayPort] of e.fulls) {
      fullBytes.push(bytes);
      serverOf.set(index, d.relayPorts.indexOf(relayPort));
    }
    for (const [key, at, index] of e.upserts) {
      const p = probes.get(key);
      if (!p) continue;
      p.got++;
      p.last = at;
      if (serverOf.get(index) !== p.via) {
        p.otherGot++;
        p.otherLast = at;
      }
    }
    for (const [index, at, bytes] of e.filters) {
      if (filterAt.has(index)) continue;
      filterAt.set(index, at);
      filterBytes.set(index, bytes);
    }
    for (const [index, at, resumed, relayPort] of e.remapped) {
      // A stream that dropped before the failover (an overloaded moment) may have moved already.
      serverOf.set(index, d.relayPorts.indexOf(relayPort));
      if (remappedAt.has(index)) continue;
      remappedAt.set(index, at);
      if (resumed) resumedAfter.add(index);
    }
    sampleDelta ||= e.sample ?? '';
  };
  const fleet = await Fleet.start(WORKERS, seen);
  const teams = Array.from({ length: N }, (_, i) => teamOf(i));
  const nodeKeys = await fleet.init(teams, d.urls);
  if (STREAMS < N)
    log(
      `streams:      ${STREAMS} of ${N} nodes connect: this machine allows ${FD_LIMIT} open files per process (ulimit -n), and the server holds one per stream; the other ${N - STREAMS} join and stay offline`,
    );

  // 1. Joins: beyond --http-joins, the network is first grown in the server process (see
  //    server-process.ts), then the timed joins come over HTTP into a network of that size.
  let t0 = performance.now();
  if (HTTP_JOINS < N) {
    for (let from = HTTP_JOINS; from < N; from += 2_000) {
      const seed = nodeKeys.slice(from, Math.min(N, from + 2_000)).map((k, i) => ({
        ...k,
        hostname: `node-${from + i}`,
        authKey: keys[teams[from + i]!]!,
      }));
      await d.seed!(seed);
    }
    log(
      `seeded:       ${N - HTTP_JOINS} nodes through the node service in ${round((performance.now() - t0) / 1000, 1)} s (not timed as joins)`,
    );
  }
  let cpu0 = cpuOf(d);
  t0 = performance.now();
  const retries = await fleet.register(keys, HTTP_JOINS, 16);
  const joinMs = performance.now() - t0;
  const joinCpu = cpuOf(d) - cpu0;
  log(
    `joins:        ${HTTP_JOINS} over HTTP in ${round(joinMs / 1000, 2)} s = ${round((HTTP_JOINS / joinMs) * 1000)} joins/s, ${round((joinCpu / HTTP_JOINS) * 1000, 2)} ms server CPU each (${round(joinCpu, 2)} s; ${retries} retried after a dropped connection)`,
  );

  // 2. Map streams: every node connects and gets its full map.
  cpu0 = cpuOf(d);
  t0 = performance.now();
  await fleet.connect({ below: STREAMS, parallel: 200 });
  const connectMs = performance.now() - t0;
  log(
    `connect:      ${STREAMS} full maps in ${round(connectMs / 1000, 2)} s, ${round(mean(fullBytes) / 1024, 1)} KiB per full map (server CPU ${round(cpuOf(d) - cpu0, 2)} s; simulator: ${WORKERS} processes)`,
  );
  const perServer = d.serverUrls.map((_, i) => [...serverOf.values()].filter((s) => s === i).length);
  if (REPLICATED) log(`streams:      per replica ${perServer.join(' / ')}`);
  await quiet(1500);

  // 3. Join propagation: one node joins at a time (with replicas: through replica 0 itself);
  //    when has every peer that should see it got it, and every one on the other replicas?
  const connected = (t: number, other: boolean) =>
    [...serverOf].filter(([i, s]) => teams[i] === t && (!other || s !== 0)).length;
  const probeSims = Array.from({ length: PROBES }, (_, i) => new SimNode(N + i, (i * 7) % TEAMS, [d.serverUrls[0]!]));
  await fleet.watch(probeSims.map((p) => p.wireguardKey));
  const probePauses = await watchPauses(d.serverUrls);
  for (const p of probeSims) {
    const seers = teamsThatSee(p.team, TEAMS);
    const entry: Probe = {
      start: now(),
      answered: 0,
      via: 0,
      expected: seers.reduce((sum, t) => sum + connected(t, false), 0),
      got: 0,
      last: 0,
      otherExpected: REPLICATED ? seers.reduce((sum, t) => sum + connected(t, true), 0) : 0,
      otherGot: 0,
      otherLast: 0,
    };
    probes.set(p.wireguardKey, entry);
    await p.register(keys[p.team]!);
    entry.answered = now();
    await quiet(10);
  }
  await waitFor(() => [...probes.values()].every((p) => p.got >= p.expected), 15_000);
  const complete = [...probes.values()].filter((p) => p.got >= p.expected);
  const propagation = complete.map((p) => p.last - p.start);
  const crossReplica = REPLICATED ? complete.map((p) => p.otherLast - p.start) : [];
  const incomplete = PROBES - propagation.length;
  const pauses = await probePauses();
  const answers = complete.map((p) => p.answered - p.start);
  const slowest = [...complete].sort((a, b) => b.last - b.start - (a.last - a.start)).slice(0, 3);
  log(
    `propagation:  p50 ${round(percentile(propagation, 50))} ms, p99 ${round(percentile(propagation, 99))} ms over ${propagation.length} joins, ~${round(mean([...probes.values()].map((p) => p.expected)), 0)} peers each${incomplete ? ` (${incomplete} incomplete!)` : ''}`,
  );
  if (REPLICATED)
    log(
      `cross-replica: joined through replica 0, seen by every peer on the others: p50 ${round(percentile(crossReplica, 50))} ms, p99 ${round(percentile(crossReplica, 99))} ms (~${round(mean(complete.map((p) => p.otherExpected)), 0)} peers each)`,
    );
  log(
    `joins' answers: p50 ${round(percentile(answers, 50))} ms, p99 ${round(percentile(answers, 99))} ms; the slowest three probes: ${slowest.map((p) => `answered ${round(p.answered - p.start)}, all ${round(p.last - p.start)}${REPLICATED ? `, other replicas ${round(p.otherLast - p.start)}` : ''} ms`).join('; ')}`,
  );
  log(
    `pauses:       while the probes joined, per server: presence rows unwritten at the start ${pauses.map((p) => p.presenceBacklog).join(' / ')}; longest event-loop delay ${pauses.map((p) => `${round(p.maxDelayMs)} ms`).join(' / ')}; major GCs ${pauses.map((p) => `${p.majorGcs} (${round(p.majorGcMs)} ms)`).join(' / ')}`,
  );
  await quiet(1000);

  // 4. Policy change that changes every node's filter.
  // BENCH_CPU_PROF: replicas profile it too (a single server profiles its whole run).
  const profileReplicas = REPLICATED && process.env.BENCH_CPU_PROF !== undefined;
  if (profileReplicas) {
    d.pids().forEach((pid) => process.kill(pid, 'SIGUSR2'));
    await quiet(200);
  }
  filterAt.clear();
  filterBytes.clear();
  cpu0 = cpuOf(d);
  t0 = now();
  const policyFromUs = process.hrtime.bigint() / 1000n;
  await admin('PUT', '/api/v1/policy', { policy: segmentedPolicy(TEAMS, 'changed') });
  const putMs = now() - t0;
  // Read at the answer: the policy is checked, stored, compiled and diffed; the pushes follow.
  const putCpu = cpuOf(d) - cpu0;
  await waitFor(() => filterAt.size >= STREAMS, 30_000);
  const policyDeliveredMs = Math.max(...filterAt.values()) - t0;
  const deltaBytes = mean([...filterBytes.values()]);
  const policyCpu = cpuOf(d) - cpu0;
  if (profileReplicas) d.pids().forEach((pid) => process.kill(pid, 'SIGUSR2'));
  if (process.env.BENCH_CPU_PROF)
    log(
      `profile:      the policy change, in the profiles' clock: --from ${policyFromUs} --to ${process.hrtime.bigint() / 1000n}`,
    );
  log(
    `policy:       delivered to ${filterAt.size}/${STREAMS} nodes in ${round(policyDeliveredMs)} ms (PUT answered in ${round(putMs)} ms), ${round(deltaBytes / 1024, 2)} KiB per delta (server CPU ${round(policyCpu, 2)} s)`,
  );

  const rss = rssOf(d);
  const serverCpu = cpuOf(d);
  log(
    `server:       RSS ${rss.map((r) => `${round(r.now)} MiB (peak ${round(r.peak)})`).join(', ')}, CPU ${round(serverCpu, 1)} s total`,
  );

  // 5. Failover (replicas): SIGKILL of the replica holding the most nodes; each of its nodes
  //    reconnects (through the load balancer) and resumes on another: until all have a map.
  let failoverMs = NaN;
  let failoverP50Ms = NaN;
  let failedOver = 0;
  let failoverResumed = 0;
  let failoverCpu = NaN;
  if (REPLICATED && d.kill && REPLICAS > 1) {
    const victim = perServer.indexOf(Math.max(...perServer));
    const orphans = [...serverOf].filter(([, s]) => s === victim).map(([i]) => i);
    remappedAt.clear();
    resumedAfter.clear();
    // The survivors' CPU from the kill until the last orphan has a map: what the herd cost them.
    const survivors = d.pids().filter((_, i) => i !== victim);
    // BENCH_CPU_PROF: the survivors profile the failover (cpu-profile-preload.ts).
    const profiling = process.env.BENCH_CPU_PROF !== undefined;
    if (profiling) survivors.forEach((pid) => process.kill(pid, 'SIGUSR2'));
    const killedAt = now();
    const survivorCpu = () => survivors.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpuBefore = survivorCpu();
    await d.kill(victim);
    await waitFor(() => orphans.every((i) => remappedAt.has(i)), 60_000);
    failoverCpu = survivorCpu() - cpuBefore;
    if (profiling) {
      survivors.forEach((pid) => process.kill(pid, 'SIGUSR2'));
      log(`profile:      the survivors' CPU profiles of the failover are in ${process.env.BENCH_CPU_PROF}`);
    }
    failedOver = orphans.filter((i) => remappedAt.has(i)).length;
    failoverResumed = orphans.filter((i) => resumedAfter.has(i)).length;
    failoverMs = Math.max(...orphans.map((i) => remappedAt.get(i) ?? NaN)) - killedAt;
    // The median beside the last tells a slow tail (backoff after refused tries) from a slow whole.
    failoverP50Ms = percentile(
      orphans.flatMap((i) => (remappedAt.has(i) ? [remappedAt.get(i)! - killedAt] : [])),
      50,
    );
    log(
      `failover:     replica ${victim} killed (SIGKILL) holding ${orphans.length} nodes; ${failedOver} had a map again from another replica after ${round(failoverMs)} ms (half of them after ${round(failoverP50Ms)} ms; ${failoverResumed} resumed with a delta, ${failedOver - failoverResumed} got a full map; survivors' CPU ${round(failoverCpu, 2)} s)${failedOver < orphans.length ? ` (${orphans.length - failedOver} never did!)` : ''}`,
    );
  }
  await fleet.close();
  await d.stop();

  // 6. Floor: a bare ws server sends one of those very deltas to as many clients, which
  //    handle it with the same code.
  const floor = await floorServer();
  await fetch(`${floor.url}/sample`, { method: 'POST', body: sampleDelta });
  filterAt.clear();
  await fleet.connect({ below: STREAMS, parallel: 200, floorUrl: `${floor.url}/` });
  await quiet(500);
  const floorCpu0 = cpuSeconds(floor.pid);
  t0 = now();
  await fetch(`${floor.url}/go`, { method: 'POST' });
  await waitFor(() => filterAt.size >= STREAMS, 30_000);
  const floorMs = Math.max(...filterAt.values()) - t0;
  const floorCpu = cpuSeconds(floor.pid) - floorCpu0;
  await fleet.close();
  fleet.stop();
  floor.stop();
  const floorRatio = policyDeliveredMs / floorMs;
  // The push alone: from the answer to the PUT (policy compiled, stored and diffed) to the last delta.
  const pushFloorRatio = (policyDeliveredMs - putMs) / floorMs;
  // On a shared machine wall time follows the neighbours' load; CPU time is the steadier ratio.
  const floorCpuRatio = policyCpu / floorCpu;
  const pushFloorCpuRatio = (policyCpu - putCpu) / floorCpu;
  log(
    `floor:        bare ws server pushed the same ${STREAMS} deltas in ${round(floorMs)} ms with ${round(floorCpu, 2)} s CPU; Trellis/floor = ${round(floorRatio, 2)}x wall in all (${round(pushFloorRatio, 2)}x for the push after the policy was compiled), ${round(floorCpuRatio, 2)}x server CPU (${round(pushFloorCpuRatio, 2)}x for the push; ${round(putCpu, 2)} s until the PUT was answered)`,
  );
  log(
    'targets: join p99 < 1000 ms; policy < 3000 ms at 10,000 (< 5000 ms at 50,000); server CPU <= 2x the floor; RSS < 1024 MiB at 10,000 (< 2048 MiB at 50,000); replicas: cross-replica p99 < 250 ms, failover < 10,000 ms',
  );

  log(
    JSON.stringify({
      nodes: N,
      streams: STREAMS,
      store: STORE,
      replicas: REPLICAS,
      httpJoins: HTTP_JOINS,
      joinsPerSec: round((HTTP_JOINS / joinMs) * 1000),
      joinCpuMsEach: round((joinCpu / HTTP_JOINS) * 1000, 2),
      joinP50Ms: round(percentile(propagation, 50)),
      joinP99Ms: round(percentile(propagation, 99)),
      joinIncomplete: incomplete,
      probeMaxLoopDelayMs: pauses.map((p) => round(p.maxDelayMs)),
      crossReplicaP50Ms: REPLICATED ? round(percentile(crossReplica, 50)) : null,
      crossReplicaP99Ms: REPLICATED ? round(percentile(crossReplica, 99)) : null,
      failoverMs: Number.isNaN(failoverMs) ? null : round(failoverMs),
      failoverP50Ms: Number.isNaN(failoverP50Ms) ? null : round(failoverP50Ms),
      failoverNodes: REPLICATED ? failedOver : null,
      failoverResumed: REPLICATED ? failoverResumed : null,
      failoverCpuSec: Number.isNaN(failoverCpu) ? null : round(failoverCpu, 2),
      policyDeliveredMs: round(policyDeliveredMs),
      floorMs: round(floorMs),
      floorRatio: round(floorRatio, 2),
      pushFloorRatio: round(pushFloorRatio, 2),
      floorCpuRatio: round(floorCpuRatio, 2),
      pushFloorCpuRatio: round(pushFloorCpuRatio, 2),
      policyCpuSec: round(policyCpu, 2),
      policyPutCpuSec: round(putCpu, 2),
      floorCpuSec: round(floorCpu, 2),
      policyCompileMs: round(putMs),
      rssMiB: round(Math.max(...rss.map((r) => r.now))),
      rssPeakMiB: round(Math.max(...rss.map((r) => r.peak))),
      rssPerReplicaMiB: rss.map((r) => round(r.now)),
      serverCpuSec: round(serverCpu, 1),
      fullMapBytes: Math.round(mean(fullBytes)),
      deltaBytes: Math.round(deltaBytes),
    }),
  );
  process.exit(0);
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond() && performance.now() < deadline) await quiet(5);
}

main().catch(async (err) => {
  console.error(err);
  await deployment?.stop().catch(() => undefined);
  process.exit(1);
});
