import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { percentile, round } from '../support/stats.ts';
import { ALICE_TOKEN } from '../../client/kube-proxy/loopback-proxy.ts';

/**
 * `npm run bench:kube`: list calls and watch event delivery through trellis kube-proxy versus
 * directly to the same stand-in API server, in the same run, on loopback (network namespaces
 * and wireguard-go would add the same cost to both paths and much noise on two shared cores).
 * The stand-in API server and the proxy run in processes of their own.
 *
 * Lists: CONCURRENCY clients on keep-alive connections GET 100 configmaps for PHASE_MS, direct
 * and proxied phases interleaved twice (so drift of the machine hits both alike). Direct calls
 * carry a user's own token; proxied ones come from the caller's source address, are identified,
 * impersonated and audited by the real audit reporter, logging as the CLI does (identity from
 * the loopback caller table: the real proxy's whois answer is cached for a second, one local-API
 * call per caller per second left out here). The lists saturate the two cores, so the CPU per
 * call of each process is measured too, and the ratio it allows printed beside the measured one.
 * Then one client lists after each list (as kubectl does), for the latency a person sees.
 * Watch: one watch direct and one through the proxy on the same namespace; each created
 * configmap's arrival on both is timed from the moment its create was sent.
 */
const CONCURRENCY = 8;
const PHASE_MS = 3_000;
const SEQUENTIAL_MS = 1_500;
const WATCH_EVENTS = 200;
const LIST = '/api/v1/namespaces/default/configmaps';
const ALICE = '127.0.0.2';
const CI = '127.0.0.4';

// BENCH_CPU_PROF=DIR: the servers write V8 CPU profiles there (node --cpu-prof), to see where time goes.
const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-kube-'));
const children: ChildProcess[] = [];
async function server(role: 'api' | 'proxy'): Promise<{ url: string; ca?: string }> {
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', fileURLToPath(new URL('./servers.ts', import.meta.url)), role, dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  return JSON.parse(
    await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
  );
}
/** User and system CPU time (ms) a child process has used so far, from /proc. */
function cpuMs(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // USER_HZ on Linux
const apiChild = () => children[0]!;
const proxyChild = () => children[1]!;
const cpu = { api: { direct: 0, proxied: 0 }, proxy: 0, client: { direct: 0, proxied: 0 } };
/** This process's (the load generator's) CPU time so far, ms. */
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const api = await server('api');
const apiUrl = api.url;
const ca = api.ca!;
const proxyUrl = (await server('proxy')).url;

type Target = { base: string; headers: Record<string, string>; localAddress?: string };
const direct: Target = { base: apiUrl, headers: { authorization: `Bearer ${ALICE_TOKEN}` } };
const proxied: Target = { base: proxyUrl, headers: {}, localAddress: ALICE };

function get(agent: Agent, t: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(`${t.base}${path}`, { agent, ca, headers: t.headers, localAddress: t.localAddress }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${t.base}${path}: ${res.statusCode}`));
        resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function listPhase(t: Target, ms: number, concurrency = CONCURRENCY): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const latencies: number[] = [];
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) latencies.push(await get(agent, t, LIST));
    }),
  );
  agent.destroy();
  return latencies;
}

async function lists(): Promise<{ direct: number[]; proxied: number[] }> {
  await listPhase(direct, 500);
  await listPhase(proxied, 500);
  const out = { direct: [] as number[], proxied: [] as number[] };
  for (let round = 0; round < 2; round++) {
    let api0 = cpuMs(apiChild());
    let own0 = ownCpuMs();
    out.direct.push(...(await listPhase(direct, PHASE_MS)));
    cpu.api.direct += cpuMs(apiChild()) - api0;
    cpu.client.direct += ownCpuMs() - own0;
    api0 = cpuMs(apiChild());
    own0 = ownCpuMs();
    const proxy0 = cpuMs(proxyChild());
    out.proxied.push(...(await listPhase(proxied, PHASE_MS)));
    cpu.api.proxied += cpuMs(apiChild()) - api0;
    cpu.proxy += cpuMs(proxyChild()) - proxy0;
    cpu.client.proxied += ownCpuMs() - own0;
  }
  return out;
}

/**
 * One client calling one list after another, as kubectl and most scripts do: the latency a person
 * sees, with the machine not saturated by the load generator itself.
 */
async function sequentialLists(): Promise<{ direct: number[]; proxied: number[] }> {
  const out = { direct: [] as number[], proxied: [] as number[] };
  for (let round = 0; round < 2; round++) {
    out.direct.push(...(await listPhase(direct, SEQUENTIAL_MS, 1)));
    out.proxied.push(...(await listPhase(proxied, SEQUENTIAL_MS, 1)));
  }
  return out;
}

/** Opens a watch and calls back with each event's object name and the time it arrived. */
function watch(t: Target, onEvent: (name: string, at: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.base}${LIST}?watch=true`,
      { ca, headers: t.headers, localAddress: t.localAddress, agent: false },
      (res) => {
        let buffered = '';
        res.on('data', (c: Buffer) => {
          const at = performance.now();
          buffered += c.toString('utf8');
          let i;
          while ((i = buffered.indexOf('\n')) >= 0) {
            const event = JSON.parse(buffered.slice(0, i)) as { object: { metadata: { name: string } } };
            buffered = buffered.slice(i + 1);
            onEvent(event.object.metadata.name, at);
          }
        });
        res.on('error', () => undefined);
        resolve(() => req.destroy());
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

async function watchLatency(): Promise<{ direct: number[]; proxied: number[] }> {
  const sent = new Map<string, number>();
  const arrived = { direct: new Map<string, number>(), proxied: new Map<string, number>() };
  const stops = [
    await watch(direct, (name, at) => arrived.direct.set(name, at)),
    await watch(proxied, (name, at) => arrived.proxied.set(name, at)),
  ];
  await new Promise((r) => setTimeout(r, 300)); // both watches past their initial ADDED events
  const agent = new Agent({ keepAlive: true, ca });
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const name = `watched-${i}`;
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } });
    sent.set(name, performance.now());
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${proxyUrl}${LIST}`,
        { method: 'POST', agent, ca, localAddress: CI, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`create: ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const stop of stops) stop();
  agent.destroy();
  const delays = (m: Map<string, number>) => [...sent].filter(([n]) => m.has(n)).map(([n, at]) => m.get(n)! - at);
  return { direct: delays(arrived.direct), proxied: delays(arrived.proxied) };
}

try {
  const l = await lists();
  const s = await sequentialLists();
  const w = await watchLatency();
  const seconds = (2 * PHASE_MS) / 1000;
  const directRps = l.direct.length / seconds;
  const proxyRps = l.proxied.length / seconds;
  const p = (v: number[], q: number) => round(percentile(v, q), 2);
  const result = {
    bench: 'kube',
    path: 'loopback',
    concurrency: CONCURRENCY,
    listedObjects: 100,
    directRps: round(directRps),
    proxyRps: round(proxyRps),
    ratio: round(proxyRps / directRps, 3),
    directP50Ms: p(l.direct, 50),
    directP99Ms: p(l.direct, 99),
    proxyP50Ms: p(l.proxied, 50),
    proxyP99Ms: p(l.proxied, 99),
    p99AddedMs: round(percentile(l.proxied, 99) - percentile(l.direct, 99), 2),
    // CPU per list call, which the machine's load does not change much: where the time goes.
    apiCpuMsPerDirectCall: round(cpu.api.direct / l.direct.length, 3),
    apiCpuMsPerProxiedCall: round(cpu.api.proxied / l.proxied.length, 3),
    proxyCpuMsPerCall: round(cpu.proxy / l.proxied.length, 3),
    clientCpuMsPerDirectCall: round(cpu.client.direct / l.direct.length, 3),
    clientCpuMsPerProxiedCall: round(cpu.client.proxied / l.proxied.length, 3),
    // The lists saturate the two cores (client, proxy and API server all on them), so the ratio
    // is bounded by CPU per call: direct (client + API) over proxied (client + API + proxy).
    cpuBoundRatio: round(
      (cpu.client.direct + cpu.api.direct) /
        l.direct.length /
        ((cpu.client.proxied + cpu.api.proxied + cpu.proxy) / l.proxied.length),
      3,
    ),
    sequentialDirectP50Ms: p(s.direct, 50),
    sequentialDirectP99Ms: p(s.direct, 99),
    sequentialProxyP50Ms: p(s.proxied, 50),
    sequentialProxyP99Ms: p(s.proxied, 99),
    sequentialP99AddedMs: round(percentile(s.proxied, 99) - percentile(s.direct, 99), 2),
    loadAverage: round(loadavg()[0]!, 1),
    watchEvents: { direct: w.direct.length, proxied: w.proxied.length, sent: WATCH_EVENTS },
    watchDirectP50Ms: p(w.direct, 50),
    watchDirectP99Ms: p(w.direct, 99),
    watchProxyP50Ms: p(w.proxied, 50),
    watchProxyP99Ms: p(w.proxied, 99),
    watchP99AddedMs: round(percentile(w.proxied, 99) - percentile(w.direct, 99), 2),
  };
  console.log(`list ${LIST} (100 objects), ${CONCURRENCY} clients, ${seconds}s per path`);
  console.log(`  direct   ${result.directRps} req/s  p50 ${result.directP50Ms} ms  p99 ${result.directP99Ms} ms`);
  console.log(`  proxied  ${result.proxyRps} req/s  p50 ${result.proxyP50Ms} ms  p99 ${result.proxyP99Ms} ms`);
  console.log(`  ratio ${result.ratio} (target >= 0.8), p99 added ${result.p99AddedMs} ms (target < 5)`);
  console.log(
    `  CPU per call: API server ${result.apiCpuMsPerDirectCall} ms direct, ${result.apiCpuMsPerProxiedCall} ms proxied; proxy ${result.proxyCpuMsPerCall} ms; client ${result.clientCpuMsPerDirectCall} / ${result.clientCpuMsPerProxiedCall} ms (load average ${result.loadAverage} on ${cpus().length} cores)`,
  );
  console.log(`  ratio the CPU per call allows on saturated cores: ${result.cpuBoundRatio}`);
  console.log(`one client, list after list (as kubectl), ${(2 * SEQUENTIAL_MS) / 1000}s per path`);
  console.log(`  direct   p50 ${result.sequentialDirectP50Ms} ms  p99 ${result.sequentialDirectP99Ms} ms`);
  console.log(
    `  proxied  p50 ${result.sequentialProxyP50Ms} ms  p99 ${result.sequentialProxyP99Ms} ms (added ${result.sequentialP99AddedMs} ms)`,
  );
  console.log(`watch delivery, ${WATCH_EVENTS} events`);
  console.log(`  direct   p50 ${result.watchDirectP50Ms} ms  p99 ${result.watchDirectP99Ms} ms`);
  console.log(
    `  proxied  p50 ${result.watchProxyP50Ms} ms  p99 ${result.watchProxyP99Ms} ms (added ${result.watchP99AddedMs} ms)`,
  );
  console.log(JSON.stringify(result));
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
