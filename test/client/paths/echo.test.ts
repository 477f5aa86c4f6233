import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PathEcho } from '../../../client/paths/echo.ts';
import { PATH_PROBE_BYTES } from '../../../protocol/path-probe.ts';

/** Two nodes' probes on loopback addresses, standing in for their mesh addresses. */
const PORT = 40_000 + Math.floor(Math.random() * 20_000);
const open: PathEcho[] = [];
const echo = async (address: string) => {
  const e = new PathEcho(PORT);
  await e.bind([address]);
  open.push(e);
  return e;
};
const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
afterEach(() => {
  for (const e of open.splice(0)) e.close();
});

describe("path probe: a 16-byte echo between nodes' mesh addresses", () => {
  it('measures the round trip to a peer that answers', async () => {
    const a = await echo('127.0.0.1');
    await echo('127.0.0.2');
    const rtt = await a.ping('127.0.0.2', 1_000);
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1_000);
  });

  it("takes a path's latency as the least of a few round trips, so a busy moment is not counted", async () => {
    const a = await echo('127.0.0.1');
    await echo('127.0.0.2');
    // Both agents' event loops stall for 40 ms (a map being applied) while a probe is out.
    const stallNextProbe = () => setImmediate(() => busyFor(40));
    stallNextProbe();
    expect(await a.ping('127.0.0.2', 1_000)).toBeGreaterThanOrEqual(40);
    stallNextProbe();
    expect(await a.latency('127.0.0.2')).toBeLessThan(20);
    expect(await a.latency('127.0.0.9', { count: 2, timeoutMs: 100 })).toBeUndefined();
  });

  it('gives up after the timeout when nothing answers', async () => {
    const a = await echo('127.0.0.1');
    const started = Date.now();
    expect(await a.ping('127.0.0.3', 200)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('answers only well-formed requests, with exactly 16 bytes', async () => {
    await echo('127.0.0.2');
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const replies: Buffer[] = [];
    socket.on('message', (m) => replies.push(m));
    const request = Buffer.alloc(PATH_PROBE_BYTES);
    request.write('TRLP', 0, 'latin1');
    request[4] = 1;
    for (const bad of [
      Buffer.from('hello'),
      Buffer.concat([request, Buffer.alloc(1)]),
      Buffer.from(request).fill(7, 5, 6),
      Buffer.from(request).fill(9, 4, 5),
    ]) {
      socket.send(bad, PORT, '127.0.0.2');
    }
    socket.send(request, PORT, '127.0.0.2');
    await new Promise((r) => setTimeout(r, 200));
    socket.close();
    expect(replies).toHaveLength(1);
    expect(replies[0]!.length).toBe(PATH_PROBE_BYTES);
    expect(replies[0]![4]).toBe(2);
    expect(replies[0]!.subarray(8)).toEqual(request.subarray(8));
  });

  it('binds to the given addresses only, and lets go of those no longer given', async () => {
    const b = await echo('127.0.0.2');
    const a = await echo('127.0.0.1');
    expect(await a.ping('127.0.0.2', 500)).toBeGreaterThan(0);
    await b.bind([]);
    expect(b.bound).toBe(false);
    expect(await a.ping('127.0.0.2', 200)).toBeUndefined();
  });
});
