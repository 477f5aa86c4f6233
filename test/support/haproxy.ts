import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLine } from '../../client/system/run.ts';
import { hasCommand, type Prerequisite } from './prerequisite-checks.ts';

/**
 * A real haproxy (Debian's package) in TCP mode in front of server replicas, as operators run
 * it: no sticky sessions, an HTTP health check per backend, connections to a backend cut the
 * moment it is marked down. The config is generated into a temp dir; haproxy runs in
 * master-worker mode so `reload()` (a new backend list) keeps the listening socket and lets the
 * old worker finish its connections, as `systemctl reload haproxy` does.
 */
export const haproxyPrerequisite = (): Prerequisite => hasCommand('haproxy');

/**
 * Where a haproxy outside a namespace connects to its backends from when it sends PROXY
 * headers: an address of its own on the loopback, so a test or benchmark that reaches a replica
 * directly (from 127.0.0.1) is not mistaken for the load balancer. Replicas outside a namespace
 * trust it (test/support/replicas.ts), as operators list their load balancers in
 * `listen.proxyProtocol.from`.
 */
export const LOCAL_PROXY_SOURCE = '127.0.0.254';

export interface Backend {
  /** Unique within the proxy: haproxy's server name. */
  name: string;
  host: string;
  port: number;
}

export interface HaproxyOptions {
  backends: Backend[];
  /** Address to listen on (default 127.0.0.1) and port (default: a free one). */
  host?: string;
  port?: number;
  /** Health check: GET this path, 200 is up (default /healthz). */
  healthPath?: string;
  /** Milliseconds between health checks (default 300); a backend is down after 3 failures, up after 2 successes. */
  checkIntervalMs?: number;
  /** Run haproxy inside this network namespace (the e2e lab's). */
  netns?: string;
  /** Most connections at once (default 4096); haproxy needs two descriptors for each. */
  maxConnections?: number;
  /**
   * Start every connection to a backend, health checks included, with a PROXY v2 header naming
   * the client (`send-proxy-v2`, as operators deploy it), from `source`. The backends must list
   * that address in `listen.proxyProtocol.from`.
   */
  sendProxyV2?: boolean;
  /** The address haproxy connects to backends from (`source`); default with sendProxyV2 outside a namespace: LOCAL_PROXY_SOURCE. */
  source?: string;
}

export type BackendState = 'UP' | 'DOWN' | 'MAINT' | 'NOLB' | string;

export class Haproxy {
  private child: ChildProcess | undefined;
  private output = '';
  private backends: Backend[];

  private constructor(
    private readonly options: HaproxyOptions & { host: string; port: number },
    private readonly dir: string,
  ) {
    this.backends = options.backends;
  }

  static async start(options: HaproxyOptions): Promise<Haproxy> {
    const missing = haproxyPrerequisite();
    if (!missing.ok()) throw new Error(`haproxy missing: ${missing.hint}`);
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? (options.netns ? 8443 : await freePort(host));
    const proxy = new Haproxy({ ...options, host, port }, mkdtempSync(join(tmpdir(), 'trellis-haproxy-')));
    try {
      proxy.writeConfig();
      await proxy.check();
      proxy.spawn();
      await proxy.waitListening();
      return proxy;
    } catch (err) {
      await proxy.stop();
      throw err;
    }
  }

  /** The address agents and admins use: `http://host:port`. */
  get url(): string {
    return `http://${this.options.host}:${this.options.port}`;
  }

  get port(): number {
    return this.options.port;
  }

  get configFile(): string {
    return join(this.dir, 'haproxy.cfg');
  }

  /** What haproxy printed (its alerts and warnings), for a failing test's message. */
  get log(): string {
    return this.output;
  }

  /** Replaces the backend list and reloads without dropping the listening socket. */
  async reload(backends: Backend[] = this.backends): Promise<void> {
    const previous = this.backends;
    this.backends = backends;
    this.writeConfig();
    try {
      await this.check();
    } catch (err) {
      this.backends = previous;
      this.writeConfig();
      throw err;
    }
    if (!this.child?.pid) throw new Error('haproxy is not running');
    this.child.kill('SIGUSR2');
    // The new worker answers on the stats socket with the new list once it has taken over.
    const names = backends.map((b) => b.name).sort();
    await until(
      async () => {
        const states = await this.states().catch(() => new Map<string, BackendState>());
        return [...states.keys()].sort().join() === names.join();
      },
      `haproxy to reload with ${names.join(', ')}`,
    );
  }

  /** Each backend's state as the health checks see it. */
  async states(): Promise<Map<string, BackendState>> {
    return new Map([...(await this.stats())].map(([name, row]) => [name, (row.status ?? '').split(' ')[0]!]));
  }

  /** How many connections haproxy holds open to each backend now (map streams among them). */
  async sessions(): Promise<Map<string, number>> {
    return new Map([...(await this.stats())].map(([name, row]) => [name, Number(row.scur)]));
  }

  /** `show stat`'s row of each backend server, by server name. */
  private async stats(): Promise<Map<string, Record<string, string>>> {
    const lines = (await this.command('show stat')).trim().split('\n');
    const header = lines[0]!.replace(/^# /, '').split(',');
    const rows = new Map<string, Record<string, string>>();
    for (const line of lines.slice(1)) {
      const cols = line.split(',');
      const row = Object.fromEntries(header.map((h, i) => [h, cols[i] ?? '']));
      if (row.pxname !== 'replicas' || row.svname === 'BACKEND' || row.svname === 'FRONTEND') continue;
      rows.set(row.svname!, row);
    }
    return rows;
  }

  /** Resolves when every named backend has the state (e.g. all UP before a test, DOWN after a kill). */
  async waitFor(names: string[], state: BackendState, timeoutMs = 10_000): Promise<void> {
    await until(
      async () => {
        const states = await this.states();
        return names.every((n) => states.get(n) === state);
      },
      `backends ${names.join(', ')} to be ${state}`,
      timeoutMs,
    );
  }

  /** One command on haproxy's admin socket (`show stat`, `disable server replicas/r1`, ...). */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(join(this.dir, 'admin.sock'));
      let out = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.end(`${line}\n`));
      socket.on('data', (d: string) => (out += d));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeConfig(): void {
    writeFileSync(
      this.configFile,
      haproxyConfig({
        listen: `${this.options.host}:${this.options.port}`,
        backends: this.backends,
        healthPath: this.options.healthPath ?? '/healthz',
        checkIntervalMs: this.options.checkIntervalMs ?? 300,
        adminSocket: join(this.dir, 'admin.sock'),
        maxConnections: this.options.maxConnections ?? 4096,
        sendProxyV2: this.options.sendProxyV2 ?? false,
        source:
          this.options.source ?? (this.options.sendProxyV2 && !this.options.netns ? LOCAL_PROXY_SOURCE : undefined),
      }),
    );
  }

  private async check(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const argv = commandLine('haproxy', ['-c', '-q', '-f', this.configFile], this.options.netns);
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`haproxy -c refused the config: ${out}`))));
    });
  }

  private spawn(): void {
    // -W master-worker (reload on SIGUSR2), -db stays in the foreground.
    const argv = commandLine('haproxy', ['-W', '-db', '-f', this.configFile], this.options.netns);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-16_384));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (err) => (this.output += `\n${err.message}`));
    this.child = child;
  }

  private async waitListening(): Promise<void> {
    await until(
      async () => {
        if (!this.child || this.child.exitCode !== null) throw new Error(`haproxy exited: ${this.output}`);
        return (await this.states().catch(() => undefined)) !== undefined;
      },
      'haproxy to start',
      10_000,
    );
  }
}

/**
 * The configuration: what deploy/haproxy.cfg shows operators, with the test's addresses and a
 * faster health check. TCP mode, because the map stream is a long-lived WebSocket and the
 * machine-key proofs sign the request as the agent sent it: haproxy only picks a replica.
 */
export function haproxyConfig(c: {
  listen: string;
  backends: Backend[];
  healthPath: string;
  checkIntervalMs: number;
  adminSocket: string;
  maxConnections: number;
  sendProxyV2?: boolean;
  source?: string;
}): string {
  const servers = c.backends.map((b) => `  server ${b.name} ${b.host}:${b.port} check`);
  return [
    'global',
    `  stats socket ${c.adminSocket} mode 600 level admin`,
    `  maxconn ${c.maxConnections}`,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    // Map streams are long-lived; the server's heartbeat keeps them busy (nodes.heartbeatSeconds).
    '  timeout client 1h',
    '  timeout server 1h',
    // A replica busy with a reconnecting herd answers its check late but answers: a short
    // timeout would mark it down and cut its streams, a herd for the others (docs/replicas.md).
    // A dead one refuses the check's connection at once, so this costs no time to notice it.
    '  timeout check 5s',
    // A connection refused by a replica that died before its check noticed goes to another
    // one, at once: redispatch on every retry, not only the last after a second's pause each.
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend trellis',
    `  bind ${c.listen}`,
    '  default_backend replicas',
    '',
    'backend replicas',
    '  balance roundrobin',
    `  option httpchk GET ${c.healthPath}`,
    '  http-check expect status 200',
    // A dead replica's agents are cut at once and reconnect through a live one.
    `  default-server inter ${c.checkIntervalMs} fall 3 rise 2 on-marked-down shutdown-sessions${c.sendProxyV2 ? ' send-proxy-v2' : ''}`,
    ...(c.source ? [`  source ${c.source}`] : []),
    ...servers,
    '',
  ].join('\n');
}

/** A TCP port nothing listens on now (the kernel picks it; closed again before use). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
