import { performance } from 'node:perf_hooks';
import type { PeerStatus } from '../../../client/agent/local-api/messages.ts';
import type { Host } from '../../e2e/harness/lab.ts';
import type { BackgroundProcess } from '../../e2e/harness/process.ts';
import { AgentHost } from '../../e2e/mesh/agent-host.ts';
import type { ServerHost } from '../../e2e/mesh/server-host.ts';

/**
 * Two real agents joined to the server with one tag (the policy lets only a tag's own nodes see
 * each other, so pairs stay apart), and what it took to get traffic between them. All times
 * run from `ready`: the moment both `up` requests (what `trellis up` sends the agent) have
 * returned, i.e. both nodes are registered and hold a map.
 */
export interface PairTimings {
  /** ready -> both agents list each other as a peer (status polled every 10 ms). */
  mapsMs: number;
  /**
   * ready -> the first ICMP echo reply A gets from B over the mesh: one `ping` started at ready
   * that sends every 10 ms until a reply arrives (its process start, ~5 ms, included).
   */
  firstPacketMs: number;
}

export interface MeshPair {
  a: AgentHost;
  b: AgentHost;
  ipA: string;
  ipB: string;
  ready: number;
  timings: PairTimings;
  peerOf(n: AgentHost, other: AgentHost): Promise<PeerStatus | undefined>;
}

const POLL_MS = 10;

export async function joinPair(
  server: ServerHost,
  tag: string,
  hosts: readonly [Host, Host],
  flags: readonly string[],
  agents: AgentHost[],
  firstPacketWithinMs = 15_000,
): Promise<MeshPair> {
  const [a, b] = await Promise.all(hosts.map((h) => AgentHost.startOn(h, flags)));
  agents.push(a!, b!);
  const key = await server.preAuthKey({ tags: [`tag:${tag}`] });
  const [upA, upB] = await Promise.all([a!.up(server.url, key), b!.up(server.url, key)]);
  const ready = performance.now();
  const ipA = upA.self!.ipv4;
  const ipB = upB.self!.ipv4;
  const peerOf = async (n: AgentHost, other: AgentHost) => (await n.status()).peers.find((p) => p.name === other.label);
  const [firstPacketAt, mapsAt] = await Promise.all([
    firstReply(a!.host, ipB, firstPacketWithinMs),
    (async () => {
      for (const [n, other] of [
        [a!, b!],
        [b!, a!],
      ] as const)
        await until(async () => (await peerOf(n, other)) !== undefined, `${n.label} sees ${other.label}`, 10_000);
      return performance.now();
    })(),
  ]);
  return {
    a: a!,
    b: b!,
    ipA,
    ipB,
    ready,
    timings: { mapsMs: mapsAt - ready, firstPacketMs: firstPacketAt - ready },
    peerOf,
  };
}

/** When the first echo reply arrived (performance.now()), from a ping sending every 10 ms. */
async function firstReply(from: Host, target: string, withinMs: number): Promise<number> {
  try {
    await from.exec('ping', ['-n', '-q', '-c', '1', '-i', '0.01', '-w', String(Math.ceil(withinMs / 1000)), target], {
      timeoutMs: withinMs + 5_000,
    });
  } catch (err) {
    throw new Error(`${from.label}: no echo reply from ${target} within ${withinMs} ms`, { cause: err });
  }
  return performance.now();
}

/** When both agents show `path` for each other (performance.now()). */
export async function bothOn(p: MeshPair, path: 'direct' | 'relay', withinMs: number): Promise<number> {
  for (const [n, other] of [
    [p.a, p.b],
    [p.b, p.a],
  ] as const) {
    await until(
      async () => (await p.peerOf(n, other))?.path === path,
      `${n.label} on a ${path} path to ${other.label}`,
      withinMs,
    );
  }
  return performance.now();
}

/** Light traffic A -> B (10 echo requests a second), so the agents see the pair in use. */
export function trickle(p: MeshPair): BackgroundProcess {
  return p.a.host.spawn('ping', ['-n', '-q', '-i', '0.1', p.ipB]);
}

async function until(ok: () => Promise<boolean>, what: string, withinMs: number): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!(await ok().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
