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
import { SimNode, inParallel, retries, type SimEvents } from './sim-node.ts';
import { segmentedPolicy, teamCount, teamOf, teamTag, teamsThatSee } from './topology.ts';

const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '2000' }, probes: { type: 'string', default: '200' } },
});
const N = Number(values.nodes);
const PROBES = Number(values.probes);
const TEAMS = teamCount(N);
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

  // Bookkeeping of what the simulated nodes receive.
  const fullBytes: number[] = [];
  const probes = new Map<string, { start: number; expected: number; got: number; last: number }>();
  const filterAt = new Map<number, number>();
  const filterBytes = new Map<number, number>();
  let sampleDelta = '';
  const events: SimEvents = {
    onFull: (_n, bytes) => fullBytes.push(bytes),
    onPeerUpserted: (_n, key, at) => {
      const p = probes.get(key);
      if (p) {
        p.got++;
        p.last = at;
      }
    },
    onFilter: (n, text, at) => {
      if (filterAt.has(n.index)) return;
      filterAt.set(n.index, at);
      filterBytes.set(n.index, text.length);
      sampleDelta ||= text;
    },
  };

  // 1. Joins.
  const sims = Array.from({ length: N }, (_, i) => new SimNode(i, teamOf(i), url));
  let cpu0 = cpuSeconds(server.proc.pid!);
  let t0 = performance.now();
  await inParallel(sims, 32, (s) => s.register(keys[s.team]!));
  const joinMs = performance.now() - t0;
  const joinCpu = cpuSeconds(server.proc.pid!) - cpu0;
  log(
    `joins:        ${N} in ${round(joinMs / 1000, 2)} s = ${round((N / joinMs) * 1000)} joins/s (server CPU ${round(joinCpu, 2)} s; ${retries} retried after a dropped connection)`,
  );

  // 2. Map streams: every node connects and gets its full map.
  cpu0 = cpuSeconds(server.proc.pid!);
  t0 = performance.now();
  await inParallel(sims, 200, (s) => s.connect(events));
  const connectMs = performance.now() - t0;
  log(
    `connect:      ${N} full maps in ${round(connectMs / 1000, 2)} s, ${round(mean(fullBytes) / 1024, 1)} KiB per full map (server CPU ${round(cpuSeconds(server.proc.pid!) - cpu0, 2)} s)`,
  );
  await quiet(1500);

  // 3. Join propagation: one node joins at a time; when has every peer that should see it got it?
  const connectedPerTeam = new Map<number, number>();
  for (const s of sims) connectedPerTeam.set(s.team, (connectedPerTeam.get(s.team) ?? 0) + 1);
  const probeSims = Array.from({ length: PROBES }, (_, i) => new SimNode(N + i, (i * 7) % TEAMS, url));
  for (const p of probeSims) {
    const expected = teamsThatSee(p.team, TEAMS).reduce((sum, t) => sum + (connectedPerTeam.get(t) ?? 0), 0);
    const entry = { start: performance.now(), expected, got: 0, last: 0 };
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
  t0 = performance.now();
  await admin('PUT', '/api/v1/policy', { policy: segmentedPolicy(TEAMS, 'changed') });
  const putMs = performance.now() - t0;
  // Read at the answer: the policy is checked, stored, compiled and diffed; the pushes follow.
  const putCpu = cpuSeconds(server.proc.pid!) - cpu0;
  await waitFor(() => filterAt.size >= N, 30_000);
  const policyDeliveredMs = Math.max(...filterAt.values()) - t0;
  const deltaBytes = mean([...filterBytes.values()]);
  const policyCpu = cpuSeconds(server.proc.pid!) - cpu0;
  log(
    `policy:       delivered to ${filterAt.size}/${N} nodes in ${round(policyDeliveredMs)} ms (PUT answered in ${round(putMs)} ms), ${round(deltaBytes / 1024, 2)} KiB per delta (server CPU ${round(policyCpu, 2)} s)`,
  );

  const rss = rssMiB(server.proc.pid!);
  const serverCpu = cpuSeconds(server.proc.pid!);
  log(`server:       RSS ${round(rss.now)} MiB (peak ${round(rss.peak)} MiB), CPU ${round(serverCpu, 1)} s total`);
  for (const s of sims) s.close();
  server.proc.kill('SIGTERM');

  // 5. Floor: a bare ws server sends one of those very deltas to as many clients, which
  //    handle it with the same code.
  const floor = await child(join(here, 'floor-server.ts'), []);
  const floorUrl = (floor.info as { url: string }).url;
  await fetch(`${floorUrl}/sample`, { method: 'POST', body: sampleDelta });
  filterAt.clear();
  await inParallel(sims, 200, (s) => s.connect(events, `${floorUrl}/`));
  await quiet(500);
  const floorCpu0 = cpuSeconds(floor.proc.pid!);
  t0 = performance.now();
  await fetch(`${floorUrl}/go`, { method: 'POST' });
  await waitFor(() => filterAt.size >= N, 30_000);
  const floorMs = Math.max(...filterAt.values()) - t0;
  const floorCpu = cpuSeconds(floor.proc.pid!) - floorCpu0;
  for (const s of sims) s.close();
  floor.proc.kill('SIGKILL');
  const floorRatio = policyDeliveredMs / floorMs;
  // The push alone: from the answer to the PUT (policy compiled, stored and diffed) to the last delta.
  const pushFloorRatio = (policyDeliveredMs - putMs) / floorMs;
  // On a shared machine wall time follows the neighbours' load; CPU time is the steadier ratio.
  const floorCpuRatio = policyCpu / floorCpu;
  const pushFloorCpuRatio = (policyCpu - putCpu) / floorCpu;
  log(
    `floor:        bare ws server pushed the same ${N} deltas in ${round(floorMs)} ms with ${round(floorCpu, 2)} s CPU; Trellis/floor = ${round(floorRatio, 2)}x wall in all (${round(pushFloorRatio, 2)}x for the push after the policy was compiled), ${round(floorCpuRatio, 2)}x server CPU (${round(pushFloorCpuRatio, 2)}x for the push; ${round(putCpu, 2)} s until the PUT was answered)`,
  );
  log('targets at N=10000: join p99 < 1000 ms, policy < 3000 ms, floor ratio <= 2, RSS < 1024 MiB');

  rmSync(dataDir, { recursive: true, force: true });
  log(
    JSON.stringify({
      nodes: N,
      joinsPerSec: round((N / joinMs) * 1000),
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
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { proc, info: JSON.parse(line) };
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
