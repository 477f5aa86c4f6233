import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { run, type RunOptions, type RunResult } from '../../../client/system/run.ts';
import { BackgroundProcess } from './process.ts';
import {
  TCP_CLIENT_JS,
  TCP_PROBER_JS,
  TCP_SERVER_JS,
  UDP_PROBE_JS,
  UDP_REFLECTOR_JS,
  type ProbedConnection,
  type TcpOutcome,
} from './probe-scripts.ts';

/**
 * A throw-away network for end-to-end tests, made only of network namespaces this lab creates:
 *  - a "switch" namespace holds one Linux bridge per segment (the internet segment first);
 *  - every host is a namespace whose `eth0` is a veth to its segment's bridge, addressed in
 *    the segment's private subnet (10.77.<segment>.0/24 — private to these namespaces);
 *  - veths are created inside the switch namespace, so nothing ever appears in (or changes)
 *    the machine's own namespace, interfaces or routes.
 * Names carry a per-process prefix (`tr<pid>-<n>-`), so parallel runs never collide; a suite
 * may put its part's tag in front of every name instead (`Lab.create({ tag: 'gwr' })`:
 * namespaces `gwr-<pid>-<n>-...`, interfaces `gwr<pid36>-<n>-...`), so its leftovers are told
 * apart from other parts' at a glance.
 * `cleanup()` stops every process started in the lab's namespaces and deletes the namespaces;
 * if the test process exits without calling it, an exit hook does the same.
 */
export interface Segment {
  readonly index: number;
  readonly bridge: string;
  /** `10.77.<index>` — hosts get `.10` upwards, routers `.1`. */
  readonly net: string;
  nextHost: number;
}

let labCounter = 0;

export class Lab {
  readonly prefix: string;
  /** Short unique stem for names that must be unique machine-wide and short (interfaces). */
  readonly stem: string;
  readonly switchNs: string;
  readonly internet: Segment;
  private readonly namespaces: string[] = [];
  private readonly processes: BackgroundProcess[] = [];
  private readonly segments: Segment[] = [];
  private vethCount = 0;
  private readonly exitHook = () => this.cleanupSync();

  private constructor(tag?: string) {
    labCounter += 1;
    this.prefix = tag ? `${tag}-${process.pid}-${labCounter}-` : `tr${process.pid}-${labCounter}-`;
    // Separators keep stems prefix-free.
    this.stem = `${tag ?? 't'}${process.pid.toString(36)}-${labCounter.toString(36)}-`;
    this.switchNs = `${this.prefix}sw`;
    this.internet = { index: 0, bridge: 'br0', net: '10.77.0', nextHost: 10 };
  }

  /** `tag`: a few lowercase letters naming the suite's part (see above). */
  static async create(options: { tag?: string } = {}): Promise<Lab> {
    if (options.tag !== undefined && !/^[a-z]{2,4}$/.test(options.tag))
      throw new TypeError(`lab tag "${options.tag}" must be 2-4 lowercase letters`);
    await sweepAbandoned();
    const lab = new Lab(options.tag);
    process.once('exit', lab.exitHook);
    try {
      await lab.addNamespace('sw');
      await lab.createBridge(lab.internet);
      return lab;
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  }

  /** A name unique to this lab for things that live outside namespaces (at most 15 chars). */
  uniqueName(short: string): string {
    const name = `${this.stem}${short}`;
    if (name.length > 15)
      throw new Error(`"${name}" is longer than an interface name may be (15); use a shorter suffix`);
    return name;
  }

  async addSegment(): Promise<Segment> {
    const index = this.segments.length + 1;
    const segment: Segment = { index, bridge: `br${index}`, net: `10.77.${index}`, nextHost: 10 };
    await this.createBridge(segment);
    return segment;
  }

  /** A new host namespace on `segment` (default: the internet), with `gateway` as its default route. */
  async addHost(label: string, options: { segment?: Segment; gateway?: string } = {}): Promise<Host> {
    const segment = options.segment ?? this.internet;
    const netns = await this.addNamespace(label);
    const address = `${segment.net}.${segment.nextHost++}`;
    await this.attach(netns, segment, 'eth0', address);
    if (options.gateway) await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', options.gateway]);
    return new Host(this, label, netns, address);
  }

  /** Creates an empty namespace (loopback up) that cleanup will delete. */
  async addNamespace(label: string): Promise<string> {
    const netns = `${this.prefix}${label}`;
    await run('ip', ['netns', 'add', netns]);
    this.namespaces.push(netns);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return netns;
  }

  /** Connects `netns` to a segment with a veth named `ifname`, addressed `address`/24. */
  async attach(netns: string, segment: Segment, ifname: string, address: string): Promise<void> {
    const port = `s${this.vethCount++}`;
    await run('ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', netns]);
    await run('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', segment.bridge, 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${address}/24`, 'dev', ifname]);
    await run('ip', ['-n', netns, 'link', 'set', ifname, 'up']);
  }

  spawn(netns: string, program: string, args: readonly string[]): BackgroundProcess {
    const p = new BackgroundProcess(program, args, netns);
    this.processes.push(p);
    return p;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.processes.map((p) => p.stop()));
    // Whatever else still runs in our namespaces (e.g. a wireguard-go a failed test left behind)
    // was started by this test run: stop it by pid before its namespace goes away.
    for (const ns of this.namespaces) await this.stopStragglers(ns);
    for (const ns of [...this.namespaces].reverse()) {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    this.namespaces.length = 0;
    this.removeSockets();
    process.removeListener('exit', this.exitHook);
  }

  /** UAPI sockets of devices named by this lab that a hard kill left behind. */
  private removeSockets(): void {
    const dir = '/var/run/wireguard';
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(this.stem) && name.endsWith('.sock')) rmSync(`${dir}/${name}`, { force: true });
    }
  }

  private async stopStragglers(ns: string): Promise<void> {
    const pids = async () =>
      (await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))).stdout
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    for (const [signal, waitMs] of [
      ['SIGTERM', 2_000],
      ['SIGKILL', 1_000],
    ] as const) {
      const list = await pids();
      if (list.length === 0) return;
      for (const pid of list) killQuietly(pid, signal);
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline && (await pids()).length > 0) await new Promise((r) => setTimeout(r, 50));
    }
  }

  private cleanupSync(): void {
    for (const ns of [...this.namespaces].reverse()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns]).toString().split(/\s+/).filter(Boolean);
        for (const pid of pids) killQuietly(Number(pid), 'SIGKILL');
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // best effort while exiting
      }
    }
    this.removeSockets();
  }

  private async createBridge(segment: Segment): Promise<void> {
    await run('ip', ['-n', this.switchNs, 'link', 'add', segment.bridge, 'type', 'bridge']);
    await run('ip', ['-n', this.switchNs, 'link', 'set', segment.bridge, 'up']);
    this.segments.push(segment);
  }
}

/**
 * Namespaces of lab runs whose test process died without cleaning up (killed by a timeout):
 * removed when their owner pid is gone and nothing runs in them any more.
 */
async function sweepAbandoned(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }));
  for (const line of stdout.split('\n')) {
    const m = /^((?:tr|[a-z]{2,4}-)(\d+)-\d+-\S+)/.exec(line);
    if (!m || isAlive(Number(m[2]))) continue;
    const pids = await run('ip', ['netns', 'pids', m[1]!]).then(
      (r) => r.stdout.trim(),
      () => 'unknown',
    );
    if (pids === '') await run('ip', ['netns', 'del', m[1]!]).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** One machine of the lab: a namespace with an address on a segment. */
export class Host {
  constructor(
    readonly lab: Lab,
    readonly label: string,
    readonly netns: string,
    /** Underlay address on its segment. */
    readonly address: string,
  ) {}

  exec(program: string, args: readonly string[], options: Omit<RunOptions, 'netns'> = {}): Promise<RunResult> {
    return run(program, args, { ...options, netns: this.netns });
  }

  spawn(program: string, args: readonly string[]): BackgroundProcess {
    return this.lab.spawn(this.netns, program, args);
  }

  /** One echo request; true when a reply came back within `timeoutS`. */
  async ping(target: string, timeoutS = 1): Promise<boolean> {
    try {
      await this.exec('ping', ['-n', '-q', '-c', '1', '-W', String(timeoutS), target], {
        timeoutMs: (timeoutS + 2) * 1000,
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Pings until a reply arrives (e.g. while a WireGuard handshake completes). */
  async pingUntil(target: string, withinMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    do {
      if (await this.ping(target, 1)) return true;
    } while (Date.now() < deadline);
    return false;
  }

  /** Starts a TCP server answering on `ports` (IPv4 and IPv6); resolves once it listens. */
  async serveTcp(ports: number[]): Promise<BackgroundProcess> {
    const server = this.spawn('node', ['-e', TCP_SERVER_JS, this.label, ...ports.map(String)]);
    await server.waitFor(/^ready$/m);
    return server;
  }

  async connectTcp(host: string, port: number, timeoutMs = 1_500): Promise<TcpOutcome> {
    try {
      const { stdout } = await this.exec('node', ['-e', TCP_CLIENT_JS, host, String(port), String(timeoutMs)], {
        timeoutMs: timeoutMs + 5_000,
      });
      return { ok: true, reply: stdout.trim() };
    } catch (err) {
      const out = ((err as { stderr?: string }).stderr ?? '') + ((err as Error).message ?? '');
      const exit = (err as { exitCode?: number }).exitCode;
      const reason = exit === 2 ? 'timeout' : /ECONNREFUSED/.test(out) ? 'refused' : 'error';
      return { ok: false, reason, detail: out.trim() };
    }
  }

  /**
   * Opens a new TCP connection to `host:port` every `everyMs` until stopped; `connections()`
   * gives those that ended so far (TCP_PROBER_JS). Resolves once the prober runs.
   */
  async probeTcp(
    host: string,
    port: number,
    options: { everyMs?: number; timeoutMs?: number } = {},
  ): Promise<{ connections(): ProbedConnection[]; stop(): Promise<void> }> {
    const p = this.spawn('node', [
      '-e',
      TCP_PROBER_JS,
      host,
      String(port),
      String(options.everyMs ?? 50),
      String(options.timeoutMs ?? 3_000),
    ]);
    await p.waitFor(/^probing$/m);
    return {
      connections: () =>
        p.output
          .split('\n')
          .filter((l) => l.startsWith('{"opened"') && l.endsWith('}'))
          .map((l) => JSON.parse(l) as ProbedConnection),
      stop: () => p.stop(),
    };
  }

  /** A UDP reflector on `port`: it answers each datagram with the sender's address as it sees it. */
  async reflectUdp(port: number): Promise<BackgroundProcess> {
    const p = this.spawn('node', ['-e', UDP_REFLECTOR_JS, String(port)]);
    await p.waitFor(/^ready$/m);
    return p;
  }

  /** From one UDP socket on `localPort`, the address each reflector (`ip:port`) saw, in order. */
  async probeUdp(localPort: number, reflectors: string[], timeoutMs = 2_000): Promise<string[]> {
    const { stdout } = await this.exec(
      'node',
      ['-e', UDP_PROBE_JS, String(localPort), String(timeoutMs), ...reflectors],
      { timeoutMs: timeoutMs + 5_000 },
    );
    return stdout.trim().split('\n');
  }
}
