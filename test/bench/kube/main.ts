import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, percentile, round } from '../support/stats.ts';
import { KUBE_PROXY_NODE_FLAGS } from '../../../client/kube-proxy/node-flags.ts';
import { ALICE_TOKEN } from '../../client/kube-proxy/loopback-proxy.ts';
import { listPhase, type Target } from './list-load.ts';
import { cannotPin, float, pin } from './placement.ts';
import { watchLatency } from './watch-latency.ts';

/**
 * `npm run bench:kube`: list calls and watch event delivery through trellis kube-proxy versus
 * directly to the same stand-in API server, in the same run, on loopback (network namespaces
 * and wireguard-go would add the same cost to both paths and much noise on two shared cores).
 * The stand-in API server, the proxy (with the Node.js flags its manifests give it) and a bare
 * TLS pipe run in processes of their own.
 *
 * Three paths, interleaved round by round so that drift of the machine hits all alike:
 *  - direct: a user's own token to the API server;
 *  - proxied: from the caller's source address, identified, impersonated and audited by the
 *    real audit reporter, logging as the CLI does (identity from the loopback caller table: the
 *    real proxy's whois answer is cached for a second, one local-API call per caller per second
 *    left out here);
 *  - TLS pipe: the same bytes through a bare TLS relay that reads nothing (no HTTP, no
 *    identity): the floor of any hop that terminates TLS, as bench:control has its floor server.
 *
 * Lists saturate the cores, and where the processes run decides what is measured:
 *  - proxy on a core of its own (the headline): the API server and the load generator share
 *    core 0 on every path, and the proxy (or pipe) runs on core 1, as it runs on a node or pod
 *    of its own beside the cluster. The ratio says how much the hop costs the client in
 *    throughput and latency when the hop is not starved of CPU by the very endpoints it serves;
 *  - all on two shared cores: every process floats. The proxy's CPU then comes out of the load
 *    generator's and API server's, so the ratio is bounded by CPU per call: direct (client +
 *    API) over proxied (client + API + proxy), printed beside it, for the proxy and the pipe.
 * Then one client lists after each list (as kubectl does), for the latency a person sees, and
 * watch delivery: each created configmap's arrival on a direct and a proxied watch.
 */
const CONCURRENCY = 8;
const PHASE_MS = 3_000;
const SEQUENTIAL_MS = 1_500;
const WATCH_EVENTS = 200;
const LIST = '/api/v1/namespaces/default/configmaps';
const ALICE = '127.0.0.2';
const CI = '127.0.0.4';

const unpinnable = cannotPin();
if (unpinnable) throw new Error(`bench:kube places its processes on two cores: ${unpinnable}`);

// BENCH_CPU_PROF=DIR: the servers write V8 CPU profiles there (node --cpu-prof), to see where time goes.
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-kube-'));
const children: ChildProcess[] = [];
async function server(role: 'api' | 'proxy' | 'pipe'): Promise<{ pid: number; url: string; ca?: string }> {
  const script = fileURLToPath(new URL('./servers.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [...profile, ...(role === 'proxy' ? KUBE_PROXY_NODE_FLAGS : []), '--import', 'tsx', script, role, dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  return { pid: child.pid!, ...(JSON.parse(line) as { url: string; ca?: string }) };
}

const api = await server('api');
const ca = api.ca!;
const proxy = await server('proxy');
const pipe = await server('pipe');

const direct: Target = { base: api.url, headers: { authorization: `Bearer ${ALICE_TOKEN}` } };
const PATHS = {
  direct: { target: direct, hop: undefined },
  proxied: { target: { base: proxy.url, headers: {}, localAddress: ALICE }, hop: proxy.pid },
  piped: { target: { base: pipe.url, headers: direct.headers }, hop: pipe.pid },
} satisfies Record<string, { target: Target; hop: number | undefined }>;
type PathName = keyof typeof PATHS;
const NAMES = Object.keys(PATHS) as PathName[];

type Placement = 'ownCore' | 'shared';
function place(placement: Placement): void {
  if (placement === 'shared') return float([api.pid, proxy.pid, pipe.pid, process.pid]);
  pin([api.pid, process.pid], 0);
  pin([proxy.pid, pipe.pid], 1);
}

/** CPU ms (user + system) of a process so far: this one's from the runtime, the servers' from /proc. */
const cpuMs = (pid: number) => (pid === process.pid ? ownCpuMs() : cpuSeconds(pid) * 1000);
function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

type Measured = { latencies: number[]; cpu: { api: number; hop: number; client: number } };

/** Each path's lists, interleaved round by round, with the CPU each process spent on them. */
async function lists(placement: Placement): Promise<Record<PathName, Measured>> {
  place(placement);
  for (const name of NAMES) await listPhase(ca, PATHS[name].target, LIST, 500, CONCURRENCY);
  const out = {} as Record<PathName, Measured>;
  for (const name of NAMES) out[name] = { latencies: [], cpu: { api: 0, hop: 0, client: 0 } };
  for (let round = 0; round < 2; round++) {
    for (const name of NAMES) {
      const { target, hop } = PATHS[name];
      const before = { api: cpuMs(api.pid), hop: hop ? cpuMs(hop) : 0, client: ownCpuMs() };
      out[name].latencies.push(...(await listPhase(ca, target, LIST, PHASE_MS, CONCURRENCY)));
      out[name].cpu.api += cpuMs(api.pid) - before.api;
      out[name].cpu.hop += hop ? cpuMs(hop) - before.hop : 0;
      out[name].cpu.client += ownCpuMs() - before.client;
    }
  }
  return out;
}

/** One client calling one list after another, as kubectl and most scripts do. */
async function sequentialLists(): Promise<{ direct: number[]; proxied: number[] }> {
  const out = { direct: [] as number[], proxied: [] as number[] };
  for (let round = 0; round < 2; round++) {
    out.direct.push(...(await listPhase(ca, PATHS.direct.target, LIST, SEQUENTIAL_MS, 1)));
    out.proxied.push(...(await listPhase(ca, PATHS.proxied.target, LIST, SEQUENTIAL_MS, 1)));
  }
  return out;
}

const p = (v: number[], q: number) => round(percentile(v, q), 2);
const added = (a: number[], b: number[], q: number) => round(percentile(a, q) - percentile(b, q), 2);

/** The figures of one placement's lists. */
function summary(l: Record<PathName, Measured>) {
  const seconds = (2 * PHASE_MS) / 1000;
  const rps = (n: PathName) => l[n].latencies.length / seconds;
  const perCall = (n: PathName, ms: number) => round(ms / l[n].latencies.length, 3);
  const cpuPerCall = (n: PathName) => (l[n].cpu.api + l[n].cpu.hop + l[n].cpu.client) / l[n].latencies.length;
  return {
    directRps: round(rps('direct')),
    proxyRps: round(rps('proxied')),
    pipeRps: round(rps('piped')),
    ratio: round(rps('proxied') / rps('direct'), 3),
    pipeRatio: round(rps('piped') / rps('direct'), 3),
    directP50Ms: p(l.direct.latencies, 50),
    directP99Ms: p(l.direct.latencies, 99),
    proxyP50Ms: p(l.proxied.latencies, 50),
    proxyP99Ms: p(l.proxied.latencies, 99),
    pipeP50Ms: p(l.piped.latencies, 50),
    pipeP99Ms: p(l.piped.latencies, 99),
    p99AddedMs: added(l.proxied.latencies, l.direct.latencies, 99),
    // CPU per list call, which the machine's load does not change much: where the time goes.
    cpuMsPerCall: {
      apiDirect: perCall('direct', l.direct.cpu.api),
      apiProxied: perCall('proxied', l.proxied.cpu.api),
      proxy: perCall('proxied', l.proxied.cpu.hop),
      pipe: perCall('piped', l.piped.cpu.hop),
      clientDirect: perCall('direct', l.direct.cpu.client),
      clientProxied: perCall('proxied', l.proxied.cpu.client),
    },
    cpuBoundRatio: round(cpuPerCall('direct') / cpuPerCall('proxied'), 3),
    pipeCpuBoundRatio: round(cpuPerCall('direct') / cpuPerCall('piped'), 3),
  };
}

function printLists(title: string, s: ReturnType<typeof summary>, bound: boolean): void {
  console.log(title);
  console.log(`  direct   ${s.directRps} req/s  p50 ${s.directP50Ms} ms  p99 ${s.directP99Ms} ms`);
  console.log(`  proxied  ${s.proxyRps} req/s  p50 ${s.proxyP50Ms} ms  p99 ${s.proxyP99Ms} ms`);
  console.log(`  TLS pipe ${s.pipeRps} req/s  p50 ${s.pipeP50Ms} ms  p99 ${s.pipeP99Ms} ms`);
  console.log(
    `  ratio ${s.ratio} (target >= 0.8; the bare TLS pipe: ${s.pipeRatio}), p99 added ${s.p99AddedMs} ms (target < 5)`,
  );
  const c = s.cpuMsPerCall;
  console.log(
    `  CPU per call: API server ${c.apiDirect} ms direct, ${c.apiProxied} ms proxied; proxy ${c.proxy} ms; pipe ${c.pipe} ms; client ${c.clientDirect} / ${c.clientProxied} ms`,
  );
  if (bound)
    console.log(
      `  ratio the CPU per call allows on saturated shared cores: proxy ${s.cpuBoundRatio}, TLS pipe ${s.pipeCpuBoundRatio}`,
    );
}

try {
  const ownCore = summary(await lists('ownCore'));
  const shared = summary(await lists('shared'));
  place('ownCore');
  const s = await sequentialLists();
  const w = await watchLatency(
    ca,
    LIST,
    { direct, proxied: PATHS.proxied.target, creator: { base: proxy.url, headers: {}, localAddress: CI } },
    WATCH_EVENTS,
  );
  const result = {
    bench: 'kube',
    path: 'loopback',
    placement: 'proxy on a core of its own',
    concurrency: CONCURRENCY,
    listedObjects: 100,
    ...ownCore,
    shared,
    sequentialDirectP50Ms: p(s.direct, 50),
    sequentialDirectP99Ms: p(s.direct, 99),
    sequentialProxyP50Ms: p(s.proxied, 50),
    sequentialProxyP99Ms: p(s.proxied, 99),
    sequentialP99AddedMs: added(s.proxied, s.direct, 99),
    watchEvents: { direct: w.direct.length, proxied: w.proxied.length, sent: WATCH_EVENTS },
    watchDirectP50Ms: p(w.direct, 50),
    watchDirectP99Ms: p(w.direct, 99),
    watchProxyP50Ms: p(w.proxied, 50),
    watchProxyP99Ms: p(w.proxied, 99),
    watchP99AddedMs: added(w.proxied, w.direct, 99),
    loadAverage: round(loadavg()[0]!, 1),
  };
  const seconds = (2 * PHASE_MS) / 1000;
  console.log(`list ${LIST} (100 objects), ${CONCURRENCY} clients, ${seconds}s per path`);
  printLists('proxy (or pipe) on core 1, API server and load generator on core 0:', ownCore, false);
  printLists('all on two shared cores:', shared, true);
  console.log(
    `one client, list after list (as kubectl), ${(2 * SEQUENTIAL_MS) / 1000}s per path, proxy on its own core`,
  );
  console.log(`  direct   p50 ${result.sequentialDirectP50Ms} ms  p99 ${result.sequentialDirectP99Ms} ms`);
  console.log(
    `  proxied  p50 ${result.sequentialProxyP50Ms} ms  p99 ${result.sequentialProxyP99Ms} ms (added ${result.sequentialP99AddedMs} ms)`,
  );
  console.log(`watch delivery, ${WATCH_EVENTS} events`);
  console.log(`  direct   p50 ${result.watchDirectP50Ms} ms  p99 ${result.watchDirectP99Ms} ms`);
  console.log(
    `  proxied  p50 ${result.watchProxyP50Ms} ms  p99 ${result.watchProxyP99Ms} ms (added ${result.watchP99AddedMs} ms)`,
  );
  console.log(`load average ${result.loadAverage}`);
  console.log(JSON.stringify(result));
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
