import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run } from '../../../client/system/run.ts';
import { Haproxy, haproxyPrerequisite } from '../../support/haproxy.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { ReplicaSet, type Replica } from '../../support/replicas.ts';
import { hasCommand, hasPostgres, isRoot, type Prerequisite } from '../../support/prerequisites.ts';
import type { Host, Lab } from '../harness/lab.ts';
import type { BackgroundProcess } from '../harness/process.ts';
import type { UpRequest } from '../../../client/agent/local-api/messages.ts';
import { AgentHost } from '../mesh/agent-host.ts';

/**
 * Replicas as an operator runs them, inside the lab: each `trellis-server` on a host of its own
 * (a namespace on the lab's internet segment), one PostgreSQL, and haproxy on a host of its own
 * in front, at `https?://<lb>:443` for agents and admins alike.
 *
 * PostgreSQL runs in the root namespace (test/support/postgres.ts); each replica host reaches it
 * through a forwarder of its own on the host's loopback (127.0.0.1:5432 -> the cluster's Unix
 * socket, a file, which every namespace can open). So a replica can be cut off from the database
 * alone, by dropping its packets to that port in its own namespace: a partition between that
 * replica and the database, the others untouched.
 */
const PG_FORWARDER_JS = `
const net = require('node:net');
const [socketPath] = process.argv.slice(1);
net.createServer((c) => {
  const up = net.connect(socketPath);
  c.pipe(up).pipe(c);
  c.on('error', () => up.destroy());
  up.on('error', () => c.destroy());
}).listen(5432, '127.0.0.1', () => console.log('ready'));
`;

const ADMIN_JS = `
const [method, url, key, body] = process.argv.slice(1);
// A timer of its own holds the process until an answer: fetch's timeout alone does not.
const held = setTimeout(() => {}, 16000);
fetch(url, { method, headers: { authorization: 'Bearer ' + key, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body || undefined, signal: AbortSignal.timeout(15000) })
  .then(async (r) => { process.stdout.write(JSON.stringify({ status: r.status, body: (await r.text()) || null })); })
  .catch((e) => { process.stdout.write(JSON.stringify({ status: 0, body: JSON.stringify({ message: e.message }) })); })
  .finally(() => clearTimeout(held));
`;

export const LB_PORT = 443;

/** What every scenario needs of the machine: namespaces, wireguard-go, PostgreSQL, haproxy. */
export const clusterPrerequisites = (): Prerequisite[] => [
  isRoot(),
  hasCommand('wireguard-go'),
  hasCommand('nft', 'nftables'),
  hasPostgres(),
  haproxyPrerequisite(),
];

export interface NodeItem {
  id: string;
  name: string;
  ipv4: string;
}

export interface AdminAnswer<T> {
  status: number;
  body: T;
}

export class Cluster {
  private constructor(
    readonly lab: Lab,
    readonly pg: TestPostgres,
    readonly set: ReplicaSet,
    readonly hosts: Host[],
    readonly lb: Host,
    /** Where admin calls come from: through haproxy its address is what replicas audit. */
    readonly adminHost: Host,
    readonly proxy: Haproxy,
    private readonly forwarders: BackgroundProcess[],
  ) {}

  static async start(lab: Lab, options: { replicas?: number; flags?: string[] } = {}): Promise<Cluster> {
    const count = options.replicas ?? 3;
    const pg = await startPostgres();
    try {
      const db = new URL(await pg.database('trellis'));
      db.hostname = '127.0.0.1';
      db.port = '5432';
      const socket = join(pg.socketDir, `.s.PGSQL.${pg.port}`);
      const hosts: Host[] = [];
      const forwarders: BackgroundProcess[] = [];
      for (let i = 0; i < count; i++) {
        const host = await lab.addHost(`r${i}`);
        const fwd = host.spawn('node', ['-e', PG_FORWARDER_JS, socket]);
        await fwd.waitFor(/^ready$/m);
        hosts.push(host);
        forwarders.push(fwd);
      }
      // haproxy's host exists first: every replica trusts its PROXY headers, and nothing else's.
      const lb = await lab.addHost('lb');
      const set = await ReplicaSet.start({
        count,
        placement: (i) => ({ host: hosts[i]!.address, port: 8080, netns: hosts[i]!.netns }),
        sharedFlags: [
          '--store.driver',
          'postgres',
          '--store.url',
          db.toString(),
          // As operators run replicas: relays linked, so a relayed pair on two replicas connects.
          '--relay.linkSecret',
          randomBytes(24).toString('base64'),
          '--listen.proxyProtocol.from',
          lb.address,
          ...(options.flags ?? []),
        ],
        flagsFor: (i) => ['--replica.id', `r${i}`, '--replica.advertise', `http://${hosts[i]!.address}:8080`],
      }).catch(async (err) => {
        await Promise.allSettled(forwarders.map((f) => f.stop()));
        throw err;
      });
      // Admins work from a host of their own, as they would: a call straight to a replica from
      // the load balancer's host would carry no PROXY header and be refused.
      const admin = await lab.addHost('admin');
      const proxy = await Haproxy.start({
        backends: set.backends,
        host: lb.address,
        port: LB_PORT,
        netns: lb.netns,
        checkIntervalMs: 300,
        sendProxyV2: true,
      });
      await proxy.waitFor(
        set.replicas.map((r) => r.name),
        'UP',
        30_000,
      );
      return new Cluster(lab, pg, set, hosts, lb, admin, proxy, forwarders);
    } catch (err) {
      await pg.stop();
      throw err;
    }
  }

  /** Agents' and admins' address: haproxy. */
  get url(): string {
    return this.proxy.url;
  }

  replica(i: number): Replica {
    return this.set.replicas[i]!;
  }

  /** An admin call, made from the admin host to `base` (haproxy unless given a replica's URL). */
  async admin<T = unknown>(method: string, path: string, body?: unknown, base = this.url): Promise<AdminAnswer<T>> {
    const { stdout, stderr } = await this.adminHost.exec(
      'node',
      ['-e', ADMIN_JS, method, base + path, this.set.adminKey, body === undefined ? '' : JSON.stringify(body)],
      { timeoutMs: 20_000 },
    );
    if (!stdout) throw new Error(`${method} ${base + path}: the admin call printed no answer; stderr: ${stderr}`);
    const res = JSON.parse(stdout) as { status: number; body: string | null };
    return { status: res.status, body: (res.body ? JSON.parse(res.body) : undefined) as T };
  }

  /** A reusable pre-auth key for tagged nodes. */
  async preAuthKey(tags: string[]): Promise<string> {
    const res = await this.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', {
      tags,
      reusable: true,
      ephemeral: false,
    });
    if (res.status !== 201) throw new Error(`pre-auth key: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.secret;
  }

  async setPolicy(text: string, base = this.url): Promise<void> {
    const res = await this.admin('PUT', '/api/v1/policy', { policy: text }, base);
    if (res.status !== 200) throw new Error(`policy: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Replica URLs starting with replica `first`: an agent given these joins through it and moves on in order. */
  serverUrls(first: number): string[] {
    const urls = this.set.replicas.map((r) => r.url);
    return [...urls.slice(first), ...urls.slice(0, first)];
  }

  /**
   * A real agent on a new lab host, joined through replica `first` (the others after it in its
   * server list), with its first map applied; `extra` adds to its `up` (routes to advertise, ...).
   */
  async joinAgent(label: string, authKey: string, first: number, extra: Partial<UpRequest> = {}): Promise<AgentHost> {
    const agent = await AgentHost.start(this.lab, label);
    const [serverUrl, ...rest] = this.serverUrls(first);
    await agent.up(serverUrl!, authKey, { serverUrls: [serverUrl!, ...rest], waitMs: 60_000, ...extra });
    return agent;
  }

  /** Every node the store holds, read through `base` (haproxy unless a replica's URL). */
  async nodes(base = this.url): Promise<NodeItem[]> {
    const res = await this.admin<{ items: NodeItem[] }>('GET', '/api/v1/nodes', undefined, base);
    if (res.status !== 200) throw new Error(`nodes: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.items;
  }

  /** Drops every packet between replica `i` and the database (both ways, silently), or lets them through again. */
  async cutOffFromDatabase(i: number, cut: boolean): Promise<void> {
    const op = cut ? '-I' : '-D';
    for (const chain of ['OUTPUT', 'INPUT']) {
      const dir = chain === 'OUTPUT' ? '--dport' : '--sport';
      await run('ip', [
        'netns',
        'exec',
        this.hosts[i]!.netns,
        'iptables',
        op,
        chain,
        '-p',
        'tcp',
        dir,
        '5432',
        '-j',
        'DROP',
      ]);
    }
  }

  async stop(): Promise<void> {
    await this.proxy.stop().catch(() => undefined);
    await this.set.stop();
    await Promise.allSettled(this.forwarders.map((f) => f.stop()));
    await this.pg.stop();
  }
}
