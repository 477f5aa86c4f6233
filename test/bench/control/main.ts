/**
 * bench:control: the coordination server under N simulated nodes (a separate process from the
 * server), on a segmented policy. Measures join throughput, join propagation, policy delivery,
 * server memory and CPU, bytes per map, and a floor: the same bytes pushed by a bare ws server
 * to the same number of clients in the same run.
 *
 *   npm run bench:control -- --nodes 10000
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { cpuSeconds, mean, percentile, round, rssMiB } from '../support/stats.ts';
import { openFileLimit } from './descriptors.ts';
import type { SeedNode } from './server-process.ts';
import { Fleet, type FleetEvents } from './fleet.ts';
import { SimNode, now } from './sim-node.ts';
import { segmentedPolicy, teamCount, teamOf, teamTag, teamsThatSee } from './topology.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2000' },
    probes: { type: 'string', default: '200' },
    workers: { type: 'string' },
    /** Joins made over HTTP and timed; the rest of the nodes are seeded in the server process first. */
    'http-joins': { type: 'string', default: '10000' },
  },
});
const N = Number(values.nodes);
const PROBES = Number(values.probes);
const TEAMS = teamCount(N);
// Every open stream is a descriptor in the server (and in the floor) process: a machine whose
// limit is lower than N joins every node but opens only as many streams as fit, and says so.
const FD_LIMIT = openFileLimit();
const STREAMS = Math.min(N, FD_LIMIT - 1_000);
// The simulator spreads over processes so that it is not what is measured; each holds at
// most 8,000 streams (well inside its own descriptor limit).
const HTTP_JOINS = Math.min(N, Number(values['http-joins']));
const WORKERS = Number(values.workers ?? Math.max(1, Math.ceil(STREAMS / 8_000)));
const here = new URL('.', import.meta.url).pathname;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const server = await child(join(here, 'server-process.ts'), [dataDir]);
  const { url, adminKey } = server.info as { url: string; adminKey: string };
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const log = (s: string) => process.stdout.write(`${s}\n`);
  log(`bench:control  nodes=${N} teams=${TEAMS} probes=${PROBES}  (server pid ${server.proc.pid})`);

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
  const probes = new Map<string, { start: number; expected: number; got: number; last: number }>();
  const filterAt = new Map<number, number>();
  const filterBytes = new Map<number, number>();
  let sampleDelta = '';
  const seen = (e: FleetEvents) => {
    for (const [, , bytes] of e.fulls) fullBytes.push(bytes);
    for (const [key, at] of e.upserts) {
      const p = probes.get(key);
      if (p) {
        p.got++;
        p.last = at;
      }
    }
    for (const [index, at, bytes] of e.filters) {
      if (filterAt.has(index)) continue;
      filterAt.set(index, at);
      filterBytes.set(index, bytes);
    }
    sampleDelta ||= e.sample ?? '';
  };
  const fleet = await Fleet.start(WORKERS, seen);
  const teams = Array.from({ length: N }, (_, i) => teamOf(i));
  const nodeKeys = await fleet.init(teams, [url]);
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
      await seedNodes(server.proc, seed);
    }
    log(
      `seeded:       ${N - HTTP_JOINS} nodes through the node service in ${round((performance.now() - t0) / 1000, 1)} s (not timed as joins)`,
    );
  }
  let cpu0 = cpuSeconds(server.proc.pid!);
  t0 = performance.now();
  const retries = await fleet.register(keys, HTTP_JOINS, 32);
  const joinMs = performance.now() - t0;
  const joinCpu = cpuSeconds(server.proc.pid!) - cpu0;
  log(
    `joins:        ${HTTP_JOINS} over HTTP in ${round(joinMs / 1000, 2)} s = ${round((HTTP_JOINS / joinMs) * 1000)} joins/s, ${round((joinCpu / HTTP_JOINS) * 1000, 2)} ms server CPU each (${round(joinCpu, 2)} s; ${retries} retried after a dropped connection)`,
  );

  // 2. Map streams: every node connects and gets its full map.
  cpu0 = cpuSeconds(server.proc.pid!);
  t0 = performance.now();
  await fleet.connect({ below: STREAMS, parallel: 200 });
  const connectMs = performance.now() - t0;
  log(
    `connect:      ${STREAMS} full maps in ${round(connectMs / 1000, 2)} s, ${round(mean(fullBytes) / 1024, 1)} KiB per full map (server CPU ${round(cpuSeconds(server.proc.pid!) - cpu0, 2)} s; simulator: ${WORKERS} processes)`,
  );
  await quiet(1500);

  // 3. Join propagation: one node joins at a time; when has every peer that should see it got it?
  const connectedPerTeam = new Map<number, number>();
  for (let i = 0; i < STREAMS; i++) connectedPerTeam.set(teams[i]!, (connectedPerTeam.get(teams[i]!) ?? 0) + 1);
  const probeSims = Array.from({ length: PROBES }, (_, i) => new SimNode(N + i, (i * 7) % TEAMS, [url]));
  await fleet.watch(probeSims.map((p) => p.wireguardKey));
  for (const p of probeSims) {
    const expected = teamsThatSee(p.team, TEAMS).reduce((sum, t) => sum + (connectedPerTeam.get(t) ?? 0), 0);
    const entry = { start: now(), expected, got: 0, last: 0 };
    probes.set(p.wireguardKey, entry);
    await p.register(keys[p.team]!);
    await quiet(10);
  }
  await waitFor(() => [...probes.values()].every((p) => p.got >= p.expected), 15_000);
  const propagation = [...probes.values()].filter((p) => p.got >= p.expected).map((p) => p.last - p.start);
  const incomplete = PROBES - propagation.length;
  log(
    `propagation:  p50 ${round(percentile(propagation, 50))} ms, p99 ${round(percentile(propagation, 99))} ms over ${propagation.length} joins, ~${round(mean([...probes.values()].map((p) => p.expected)), 0)} peers each${incomplete ? ` (${incomplete} incomplete!)` : ''}`,
  );
  await quiet(1000);

  // 4. Policy change that changes every node's filter.
  filterAt.clear();
  filterBytes.clear();
  cpu0 = cpuSeconds(server.proc.pid!);
  t0 = now();
  await admin('PUT', '/api/v1/policy', { policy: segmentedPolicy(TEAMS, 'changed') });
  const putMs = now() - t0;
  // Read at the answer: the policy is checked, stored, compiled and diffed; the pushes follow.
  const putCpu = cpuSeconds(server.proc.pid!) - cpu0;
  await waitFor(() => filterAt.size >= STREAMS, 30_000);
  const policyDeliveredMs = Math.max(...filterAt.values()) - t0;
  const deltaBytes = mean([...filterBytes.values()]);
  const policyCpu = cpuSeconds(server.proc.pid!) - cpu0;
  log(
    `policy:       delivered to ${filterAt.size}/${STREAMS} nodes in ${round(policyDeliveredMs)} ms (PUT answered in ${round(putMs)} ms), ${round(deltaBytes / 1024, 2)} KiB per delta (server CPU ${round(policyCpu, 2)} s)`,
  );

  const rss = rssMiB(server.proc.pid!);
  const serverCpu = cpuSeconds(server.proc.pid!);
  log(`server:       RSS ${round(rss.now)} MiB (peak ${round(rss.peak)} MiB), CPU ${round(serverCpu, 1)} s total`);
  await fleet.close();
  server.proc.kill('SIGTERM');

  // 5. Floor: a bare ws server sends one of those very deltas to as many clients, which
  //    handle it with the same code.
  const floor = await child(join(here, 'floor-server.ts'), []);
  const floorUrl = (floor.info as { url: string }).url;
  await fetch(`${floorUrl}/sample`, { method: 'POST', body: sampleDelta });
  filterAt.clear();
  await fleet.connect({ below: STREAMS, parallel: 200, floorUrl: `${floorUrl}/` });
  await quiet(500);
  const floorCpu0 = cpuSeconds(floor.proc.pid!);
  t0 = now();
  await fetch(`${floorUrl}/go`, { method: 'POST' });
  await waitFor(() => filterAt.size >= STREAMS, 30_000);
  const floorMs = Math.max(...filterAt.values()) - t0;
  const floorCpu = cpuSeconds(floor.proc.pid!) - floorCpu0;
  await fleet.close();
  fleet.stop();
  floor.proc.kill('SIGKILL');
  const floorRatio = policyDeliveredMs / floorMs;
  // The push alone: from the answer to the PUT (policy compiled, stored and diffed) to the last delta.
  const pushFloorRatio = (policyDeliveredMs - putMs) / floorMs;
  // On a shared machine wall time follows the neighbours' load; CPU time is the steadier ratio.
  const floorCpuRatio = policyCpu / floorCpu;
  const pushFloorCpuRatio = (policyCpu - putCpu) / floorCpu;
  log(
    `floor:        bare ws server pushed the same ${STREAMS} deltas in ${round(floorMs)} ms with ${round(floorCpu, 2)} s CPU; Trellis/floor = ${round(floorRatio, 2)}x wall in all (${round(pushFloorRatio, 2)}x for the push after the policy was compiled), ${round(floorCpuRatio, 2)}x server CPU (${round(pushFloorCpuRatio, 2)}x for the push; ${round(putCpu, 2)} s until the PUT was answered)`,
  );
  log('targets at N=10000: join p99 < 1000 ms, policy < 3000 ms, floor ratio <= 2, RSS < 1024 MiB');

  rmSync(dataDir, { recursive: true, force: true });
  log(
    JSON.stringify({
      nodes: N,
      streams: STREAMS,
      httpJoins: HTTP_JOINS,
      joinsPerSec: round((HTTP_JOINS / joinMs) * 1000),
      joinP50Ms: round(percentile(propagation, 50)),
      joinP99Ms: round(percentile(propagation, 99)),
      joinIncomplete: incomplete,
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
      rssMiB: round(rss.now),
      rssPeakMiB: round(rss.peak),
      serverCpuSec: round(serverCpu, 1),
      fullMapBytes: Math.round(mean(fullBytes)),
      deltaBytes: Math.round(deltaBytes),
    }),
  );
  process.exit(0);
}

async function child(script: string, args: string[]): Promise<{ proc: ChildProcess; info: unknown }> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--max-old-space-size=4096',
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      script,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { proc, info: JSON.parse(line) };
}

let seedId = 0;
/** Hands a batch of registrations to server-process.ts; resolves when all are registered. */
function seedNodes(proc: ChildProcess, seed: SeedNode[]): Promise<void> {
  const id = seedId++;
  return new Promise((resolve) => {
    const done = (m: { id: number }) => {
      if (m.id !== id) return;
      proc.off('message', done);
      resolve();
    };
    proc.on('message', done);
    proc.send({ id, seed });
  });
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond() && performance.now() < deadline) await quiet(5);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
