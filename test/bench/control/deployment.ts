import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Haproxy, freePort } from '../../support/haproxy.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { ReplicaSet } from '../../support/replicas.ts';
import { cpuSeconds, rssMiB } from '../support/stats.ts';
import type { SeedNode } from './server-process.ts';

/**
 * What the benchmark runs against: one server process on SQLite (server-process.ts), or
 * replicas (`trellis-server serve` processes) on a throwaway PostgreSQL behind haproxy, as an
 * operator deploys them. Either way the benchmark reads CPU and memory per server process.
 */
export interface Deployment {
  readonly store: 'sqlite' | 'postgres';
  /** Where admins and nodes reach the service: the server, or the load balancers' addresses. */
  readonly urls: string[];
  /** Each server process's own URL (the replicas', or the one server's). */
  readonly serverUrls: string[];
  readonly adminKey: string;
  /** The relay UDP port of each server, by index: the maps a node gets name it, so it says which replica serves the node. */
  readonly relayPorts: number[];
  pids(): number[];
  /** Registrations handed to the node service inside the server process (SQLite only). */
  seed?(nodes: SeedNode[]): Promise<void>;
  /** SIGKILL of server `index` (replicas only). */
  kill?(index: number): Promise<void>;
  stop(): Promise<void>;
}

export function cpuOf(d: Deployment): number {
  return d.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

export function rssOf(d: Deployment): Array<{ now: number; peak: number }> {
  return d.pids().map((pid) => rssMiB(pid));
}

const here = new URL('.', import.meta.url).pathname;

export async function singleServer(): Promise<Deployment> {
  const dataDir = mkdtempSync(join(tmpdir(), 'trellis-bench-'));
  const server = await child(join(here, 'server-process.ts'), [dataDir]);
  const { url, adminKey, relayPort } = server.info as { url: string; adminKey: string; relayPort: number };
  let seedId = 0;
  return {
    store: 'sqlite',
    urls: [url],
    serverUrls: [url],
    adminKey,
    relayPorts: [relayPort],
    pids: () => [server.proc.pid!],
    seed(nodes) {
      const id = seedId++;
      return new Promise((resolve) => {
        const done = (m: { id: number }) => {
          if (m.id !== id) return;
          server.proc.off('message', done);
          resolve();
        };
        server.proc.on('message', done);
        server.proc.send({ id, seed: nodes });
      });
    },
    async stop() {
      server.proc.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `count` replicas on one PostgreSQL behind haproxy. Each proxied stream costs haproxy two
 * descriptors: when `streams` would not fit one haproxy under this machine's open-file limit,
 * several run side by side and the nodes get all their addresses, as with two load balancers
 * behind one DNS name.
 */
export async function replicas(count: number, streams: number, fdLimit: number): Promise<Deployment> {
  let pg: TestPostgres | undefined;
  let set: ReplicaSet | undefined;
  const proxies: Haproxy[] = [];
  const stop = async () => {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await set?.stop();
    await pg?.stop();
  };
  try {
    pg = await startPostgres();
    const storeUrl = await pg.database('bench');
    const relayPorts = await Promise.all(Array.from({ length: count }, () => freePort()));
    set = await ReplicaSet.start({
      count,
      sharedFlags: [
        '--store.driver',
        'postgres',
        '--store.url',
        storeUrl,
        '--limits.authPerMinute',
        '10000000',
        '--limits.maxBodyBytes',
        String(8 << 20),
      ],
      flagsFor: (i) => ['--relay.udpPort', String(relayPorts[i]), '--replica.id', `r${i}`],
      // BENCH_CPU_PROF=DIR: each replica profiles the policy change and each survivor the failover (main.ts starts and stops
      // it with SIGUSR2, cpu-profile-preload.ts) and writes the V8 CPU profile there.
      ...(process.env.BENCH_CPU_PROF && {
        env: { NODE_OPTIONS: `--import tsx --import ${join(here, 'cpu-profile-preload.ts')}` },
      }),
    });
    const perProxy = Math.floor((fdLimit - 1_000) / 2);
    const proxyCount = Math.max(1, Math.ceil((streams + 1_000) / perProxy));
    for (let i = 0; i < proxyCount; i++) {
      // Checks every second, as deploy/haproxy/haproxy.cfg has them (a check's connect timeout is
      // the interval: the tests' 300 ms gives up on a replica whose accept queue a herd filled).
      proxies.push(
        await Haproxy.start({
          backends: set.backends,
          maxConnections: perProxy,
          checkIntervalMs: 1_000,
          sendProxyV2: true,
        }),
      );
    }
    await Promise.all(
      proxies.map((p) =>
        p.waitFor(
          set!.backends.map((b) => b.name),
          'UP',
          30_000,
        ),
      ),
    );
    const replicaSet = set;
    // A replica that dies on its own is a finding: its log goes to stderr, not into a silent NaN.
    const killed = new Set<number>();
    const watchdog = setInterval(() => {
      for (const r of replicaSet.replicas) {
        if (r.running || killed.has(r.index)) continue;
        killed.add(r.index);
        process.stderr.write(`replica ${r.name} exited on its own; its last output:\n${r.output.slice(-8_000)}\n`);
      }
    }, 200).unref();
    return {
      store: 'postgres',
      urls: proxies.map((p) => p.url),
      serverUrls: replicaSet.replicas.map((r) => r.url),
      adminKey: replicaSet.adminKey,
      relayPorts,
      pids: () => replicaSet.replicas.flatMap((r) => (r.pid ? [r.pid] : [])),
      kill: (index) => {
        killed.add(index);
        return replicaSet.replicas[index]!.kill9();
      },
      stop: () => {
        clearInterval(watchdog);
        replicaSet.replicas.forEach((r) => killed.add(r.index));
        return stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function child(script: string, args: string[]): Promise<{ proc: ChildProcess; info: unknown }> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--max-old-space-size=4096',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
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

/** The floor server (floor-server.ts) in a process of its own. */
export async function floorServer(): Promise<{ url: string; pid: number; stop(): void }> {
  const floor = await child(join(here, 'floor-server.ts'), []);
  return {
    url: (floor.info as { url: string }).url,
    pid: floor.proc.pid!,
    stop: () => floor.proc.kill('SIGKILL'),
  };
}
