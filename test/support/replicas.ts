import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine } from '../../client/system/run.ts';
import { freePort, LOCAL_PROXY_SOURCE, type Backend } from './haproxy.ts';

/**
 * Server replicas as real `trellis-server serve` processes on one shared store (PostgreSQL:
 * pass its flags in `sharedFlags`), each with its own data directory and port, as an operator
 * runs them. A test kills one with SIGKILL (no goodbye, no shutdown: what a crashed machine
 * does), restarts it on the same data directory and port, and waits until it is ready again.
 */
const SERVER_BIN = fileURLToPath(new URL('../../bin/trellis-server.js', import.meta.url));

export interface ReplicaPlacement {
  /** Address the replica listens on (default 127.0.0.1). */
  host?: string;
  /** Port (default: a free one on the host; 8080 inside a namespace). */
  port?: number;
  /** Run it inside this network namespace (the e2e lab's host). */
  netns?: string;
}

export interface ReplicaSetOptions {
  count: number;
  /** Flags every replica gets, e.g. `--store.driver postgres --store.url URL`. */
  sharedFlags?: string[];
  /** Flags for replica i only (e.g. its `--replica.id`). */
  flagsFor?: (index: number) => string[];
  placement?: (index: number) => ReplicaPlacement;
  /** The path that answers 200 once a replica can serve (default /healthz). */
  readyPath?: string;
  env?: NodeJS.ProcessEnv;
}

export class Replica {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private out = '';

  constructor(
    readonly index: number,
    readonly name: string,
    readonly host: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly argv: string[],
    private readonly options: { netns?: string; readyPath: string; env?: NodeJS.ProcessEnv },
  ) {}

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get netns(): string | undefined {
    return this.options.netns;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The tail of what the process printed (its log), for a failing test's message. */
  get output(): string {
    return this.out;
  }

  /** How haproxy names and reaches it. */
  get backend(): Backend {
    return { name: this.name, host: this.host, port: this.port };
  }

  /** Starts the process (again, on the same data directory and port) and waits until it is ready. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const argv = commandLine(process.execPath, [SERVER_BIN, 'serve', ...this.argv], this.options.netns);
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.options.env },
    });
    const keep = (d: Buffer) => (this.out = (this.out + d.toString()).slice(-32_768));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => (this.out += `\n${err.message}`));
    this.child = child;
    await this.waitReady(timeoutMs);
  }

  /** SIGKILL: the process dies at once, its sockets close without a goodbye. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, as systemd stops it (goodbyes sent, streams closed), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(killer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The status `readyPath` answers now (0: no answer). */
  async readiness(): Promise<number> {
    const url = this.url + this.options.readyPath;
    if (!this.options.netns) {
      return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        () => 0,
      );
    }
    // The test process lives in the root namespace and cannot reach the lab's addresses.
    const probe = `fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(2000)}).then((r)=>console.log(r.status),()=>console.log(0))`;
    const argv = commandLine(process.execPath, ['-e', probe], this.options.netns);
    return new Promise((resolve) => {
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', () => resolve(Number(out.trim()) || 0));
      p.on('error', () => resolve(0));
    });
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.out.trim()}`);
      if ((await this.readiness()) === 200) return;
      if (Date.now() > deadline)
        throw new Error(`${this.name} was not ready (${this.options.readyPath}) within ${timeoutMs} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export class ReplicaSet {
  private constructor(
    readonly replicas: Replica[],
    /** An admin API key, valid on every replica (the store is shared). */
    readonly adminKey: string,
  ) {}

  /**
   * Starts `count` replicas: the first alone (on a fresh store it writes the bootstrap admin key
   * into its data directory), then the others at once.
   */
  static async start(options: ReplicaSetOptions): Promise<ReplicaSet> {
    const replicas: Replica[] = [];
    for (let i = 0; i < options.count; i++) {
      const place = options.placement?.(i) ?? {};
      const host = place.host ?? '127.0.0.1';
      const port = place.port ?? (place.netns ? 8080 : await freePort(host));
      const dataDir = mkdtempSync(join(tmpdir(), `trellis-replica-${i}-`));
      const argv = [
        '--listen.host',
        host,
        '--listen.port',
        String(port),
        '--data-dir',
        dataDir,
        ...(options.sharedFlags ?? []),
        ...(options.flagsFor?.(i) ?? []),
      ];
      if (!argv.includes('--log.level')) argv.push('--log.level', 'warn');
      if (!argv.includes('--relay.udpPort')) argv.push('--relay.udpPort', place.netns ? '3478' : '0');
      // A local haproxy sending PROXY headers (sendProxyV2) connects from this address alone;
      // in a namespace the caller names its load balancer's.
      if (!place.netns && !argv.includes('--listen.proxyProtocol.from'))
        argv.push('--listen.proxyProtocol.from', LOCAL_PROXY_SOURCE);
      replicas.push(
        new Replica(i, `r${i}`, host, port, dataDir, argv, {
          netns: place.netns,
          readyPath: options.readyPath ?? '/healthz',
          env: options.env,
        }),
      );
    }
    const set = new ReplicaSet(replicas, '');
    try {
      await replicas[0]!.start();
      const adminKey = bootstrapKey(replicas[0]!);
      await Promise.all(replicas.slice(1).map((r) => r.start()));
      return new ReplicaSet(replicas, adminKey);
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  get backends(): Backend[] {
    return this.replicas.map((r) => r.backend);
  }

  /** Stops every replica and removes their data directories. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.replicas.map((r) => r.stop(5_000)));
    for (const r of this.replicas) rmSync(r.dataDir, { recursive: true, force: true });
  }
}

/** The bootstrap admin key `serve` writes on a fresh store, before it listens: there once it is ready. */
function bootstrapKey(first: Replica): string {
  const file = join(first.dataDir, 'admin-api-key');
  const key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!key) throw new Error(`${first.name} answered ${first.url} without having written ${file}:\n${first.output}`);
  return key;
}
