import type { ServerHost } from '../../e2e/mesh/server-host.ts';
import { cpuSeconds } from '../support/stats.ts';

/**
 * What the server spends on relaying: its process's CPU time (all threads, user + system, from
 * /proc) and the relay's own packet counters from /metrics.
 */
export interface RelayCounters {
  forwarded: number;
  dropped: number;
}

const METRICS_JS = `fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.message); process.exit(1); });`;

export async function relayCounters(server: ServerHost): Promise<RelayCounters> {
  const { stdout } = await server.host.exec('node', ['-e', METRICS_JS, `${server.url}/metrics`]);
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(stdout)?.[1] ?? NaN);
  return { forwarded: value('trellis_relay_forwarded_total'), dropped: value('trellis_relay_dropped_total') };
}

/** CPU seconds the server process uses while `work` runs, with work's result. */
export async function serverCpuDuring<T>(
  server: ServerHost,
  work: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: number }> {
  const pid = server.pid;
  if (pid === undefined) throw new Error('the server process is not running');
  const before = cpuSeconds(pid);
  const result = await work();
  return { result, cpuSeconds: cpuSeconds(pid) - before };
}
