import { Agent, request } from 'node:https';

/** Where a list call goes: the API server itself, the proxy, or the bare TLS pipe. */
export interface Target {
  base: string;
  headers: Record<string, string>;
  /** The source address the call comes from (the proxy identifies callers by it). */
  localAddress?: string;
}

/** One GET; resolves with its latency in ms once the whole answer has arrived. */
export function get(agent: Agent, ca: string, t: Target, path: string): Promise<number> {
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

/** `concurrency` clients on keep-alive connections, each listing after its last list ended, for `ms`. */
export async function listPhase(
  ca: string,
  t: Target,
  path: string,
  ms: number,
  concurrency: number,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  const latencies: number[] = [];
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) latencies.push(await get(agent, ca, t, path));
    }),
  );
  agent.destroy();
  return latencies;
}
