import { pathToFileURL } from 'node:url';
import { Lab, type Host } from '../../e2e/harness/lab.ts';
import { BackgroundProcess } from '../../e2e/harness/process.ts';
import { cpuSeconds, sessionOf } from '../support/stats.ts';
import { iperfMbps } from './iperf.ts';

/**
 * The reference the mesh is measured against: a wireguard-go pair configured by hand, the way
 * its documentation does it (`wg` and `ip`, none of Trellis' code), between two namespaces,
 * and iperf3 through it. Given hosts, it builds its own interfaces (own names, port and
 * tunnel subnet) beside whatever else runs there, so the mesh and the baseline can share
 * the same namespaces in one run; it removes them again when done.
 */

/**
 * The session wireguard-go runs in. Under autogroup scheduling (Linux's default for processes
 * outside a CPU cgroup of their own) a session is one group for the CPU scheduler, so on a
 * machine the test itself saturates, a wireguard-go in the load generator's session gets a
 * larger share of the CPU than one in a session of its own (measured here: 8-20% more
 * throughput for the same CPU per bit).
 *  - 'own' (default): a session of its own, as the agent starts it (so that it outlives the agent
 *    and a Ctrl-C in the agent's terminal) and as a service manager runs any daemon;
 *  - 'load': the session of the process that runs iperf3.
 */
export type BaselineSession = 'own' | 'load';

export interface BaselineOptions {
  /** Two lab hosts; absent = a fresh lab with two hosts, removed afterwards. */
  hosts?: readonly [Host, Host];
  seconds?: number;
  /** Tunnel MTU; default 1420, wireguard-go's own default. */
  mtu?: number;
  listenPort?: number;
  /**
   * Where each host's peer is reached (`ip:port`); default the other host's address. Behind
   * NATs, the other NAT's public address: MASQUERADE keeps the listen port when it is free.
   */
  endpoints?: readonly [string, string];
  /** Persistent keepalive, s: both sides send at once and so open their NATs for each other. */
  keepaliveSeconds?: number;
  session?: BaselineSession;
}

export interface BaselineResult {
  mbps: number;
  /** CPU time both wireguard-go processes used during the iperf3 run (user + system). */
  wireguardCpuSeconds: number;
  seconds: number;
  mtu: number;
}

/** A hand-configured wireguard-go pair between two hosts, up and carrying ping. */
export interface HandPair {
  /** Each host's interface, in the order of `hosts`. */
  ifaces: readonly [string, string];
  /** Each host's tunnel address (10.99.0.1, 10.99.0.2). */
  tunnel: readonly [string, string];
  /** CPU time both wireguard-go processes used so far (user + system), s. */
  cpuSeconds(): number;
  /** Stops both wireguard-go processes (their interfaces go with them). */
  stop(): Promise<void>;
}

export interface HandPairOptions extends Omit<BaselineOptions, 'hosts' | 'seconds'> {
  hosts: readonly [Host, Host];
  /** Further allowed IPs of each host's peer (a subnet reached through the other host). */
  routedThrough?: readonly [readonly string[], readonly string[]];
}

/**
 * The pair as WireGuard's documentation sets it up (`wg` and `ip`, none of Trellis' code): a key
 * per side, one peer each, a tunnel address each in 10.99.0.0/24. Its own interface names
 * (unique to the lab) and port, so it runs beside the agents on the same namespaces.
 */
export async function startHandPair(options: HandPairOptions): Promise<HandPair> {
  const mtu = options.mtu ?? 1420;
  const port = options.listenPort ?? 51900;
  const session = options.session ?? 'own';
  const [a, b] = options.hosts;
  const processes: BackgroundProcess[] = [];
  const stop = () => Promise.allSettled(processes.map((p) => p.stop())).then(() => undefined);
  try {
    const ifaces = [a.lab.uniqueName('ba'), b.lab.uniqueName('bb')] as const;
    const tunnel = ['10.99.0.1', '10.99.0.2'] as const;
    const keys = await Promise.all(
      [a, b].map(async (h) => {
        const priv = (await h.exec('wg', ['genkey'])).stdout.trim();
        const pub = (await h.exec('wg', ['pubkey'], { input: priv })).stdout.trim();
        return { priv, pub };
      }),
    );
    for (const [i, h] of [a, b].entries()) {
      const wireguardGo = ['wireguard-go', '-f', ifaces[i]!];
      // setsid execs wireguard-go in place (a spawned child leads no group), so the pid is wireguard-go's.
      const argv = session === 'own' ? ['setsid', ...wireguardGo] : wireguardGo;
      const p = new BackgroundProcess(argv[0]!, argv.slice(1), h.netns);
      processes.push(p);
      await waitForSocket(h, ifaces[i]!, p);
      if ((sessionOf(p.pid!) === p.pid) !== (session === 'own'))
        throw new Error(`wireguard-go ${ifaces[i]} is not in the '${session}' session`);
    }
    for (const [i, h] of [a, b].entries()) {
      const other = [a, b][1 - i]!;
      // `cat |` gives wg a real pipe to read /dev/stdin from (Node's stdin is a socket).
      const endpoint = options.endpoints?.[i] ?? `${other.address}:${port}`;
      const keepalive = options.keepaliveSeconds ? ['persistent-keepalive', String(options.keepaliveSeconds)] : [];
      const allowed = [`${tunnel[1 - i]}/32`, ...(options.routedThrough?.[i] ?? [])];
      await h.exec(
        'sh',
        [
          '-c',
          'cat | exec wg "$@"',
          'sh',
          'set',
          ifaces[i]!,
          'private-key',
          '/dev/stdin',
          'listen-port',
          String(port),
          'peer',
          keys[1 - i]!.pub,
          'endpoint',
          endpoint,
          'allowed-ips',
          allowed.join(','),
          ...keepalive,
        ],
        { input: keys[i]!.priv },
      );
      await h.exec('ip', ['addr', 'add', `${tunnel[i]}/24`, 'dev', ifaces[i]!]);
      await h.exec('ip', ['link', 'set', ifaces[i]!, 'mtu', String(mtu), 'up']);
    }
    if (!(await a.pingUntil(tunnel[1]))) throw new Error('baseline tunnel does not carry ping');
    return {
      ifaces,
      tunnel,
      cpuSeconds: () => processes.reduce((sum, p) => sum + cpuSeconds(p.pid!), 0),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function measureBaseline(options: BaselineOptions = {}): Promise<BaselineResult> {
  const seconds = options.seconds ?? 3;
  const mtu = options.mtu ?? 1420;
  const ownLab = options.hosts ? undefined : await Lab.create();
  let pair: HandPair | undefined;
  try {
    const hosts = options.hosts ?? [await ownLab!.addHost('a'), await ownLab!.addHost('b')];
    pair = await startHandPair({ ...options, hosts, mtu });
    const cpuBefore = pair.cpuSeconds();
    const mbps = await iperfMbps(hosts[0], hosts[1], pair.tunnel[1], seconds);
    return { mbps, wireguardCpuSeconds: pair.cpuSeconds() - cpuBefore, seconds, mtu };
  } finally {
    await pair?.stop();
    await ownLab?.cleanup();
  }
}

async function waitForSocket(h: Host, iface: string, p: BackgroundProcess): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await h.exec('wg', ['show', iface]);
      return;
    } catch (err) {
      if (!p.running || Date.now() > deadline)
        throw new Error(`wireguard-go ${iface} did not start: ${p.output}`, { cause: err });
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await measureBaseline({ seconds: Number(process.env.SECONDS ?? 3) });
  console.log(
    `hand-configured wireguard-go pair: ${result.mbps.toFixed(0)} Mbit/s (MTU ${result.mtu}, ${result.seconds} s)`,
  );
  console.log(JSON.stringify({ baselineMbps: Math.round(result.mbps), mtu: result.mtu }));
}
