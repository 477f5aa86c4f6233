import { Agent, request } from 'node:https';
import type { Target } from './list-load.ts';

/** Opens a watch and calls back with each event's object name and the time it arrived. */
function watch(ca: string, t: Target, path: string, onEvent: (name: string, at: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${t.base}${path}?watch=true`,
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

/**
 * One watch direct and one through the proxy on the same collection; `events` objects are
 * created (through the proxy, by `creator`) and each one's arrival on both watches is timed
 * from the moment its create was sent.
 */
export async function watchLatency(
  ca: string,
  path: string,
  paths: { direct: Target; proxied: Target; creator: Target },
  events: number,
): Promise<{ direct: number[]; proxied: number[] }> {
  const sent = new Map<string, number>();
  const arrived = { direct: new Map<string, number>(), proxied: new Map<string, number>() };
  const stops = [
    await watch(ca, paths.direct, path, (name, at) => arrived.direct.set(name, at)),
    await watch(ca, paths.proxied, path, (name, at) => arrived.proxied.set(name, at)),
  ];
  await new Promise((r) => setTimeout(r, 300)); // both watches past their initial ADDED events
  const agent = new Agent({ keepAlive: true, ca });
  const { creator } = paths;
  for (let i = 0; i < events; i++) {
    const name = `watched-${i}`;
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } });
    sent.set(name, performance.now());
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${creator.base}${path}`,
        {
          method: 'POST',
          agent,
          ca,
          localAddress: creator.localAddress,
          headers: { ...creator.headers, 'content-type': 'application/json' },
        },
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
