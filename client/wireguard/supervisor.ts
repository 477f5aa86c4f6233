import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { commandLine, run } from '../system/run.ts';
import { WireGuardError } from './errors.ts';
import { describeOwner, netnsInode, socketOwners, type SocketOwner } from './socket-owner.ts';
import { UAPI_SOCKET_DIR, UapiClient } from './uapi-client.ts';

/**
 * Runs `wireguard-go -f <iface>` (foreground: its daemon mode misbehaves inside
 * `ip netns exec`) in a network namespace or the current one, and keeps it running:
 *  1. start: spawn, then poll the UAPI socket until it answers (or the process dies);
 *  2. on an unexpected exit: report it, wait a backoff, start again — at most `maxRestarts`
 *     times within `restartWindowMs`, then report that it gave up;
 *  3. after each restart the device is empty (the TUN device died with the process), so
 *     `onEvent({type: 'restarted'})` is the owner's cue to apply its configuration again;
 *  4. stop: SIGTERM (wireguard-go then removes its interface and socket), SIGKILL if it lingers.
 * With `logFile`, wireguard-go writes there and runs in its own session, so it outlives the
 * agent (a Ctrl-C to the agent's terminal, or the agent's pipes closing, would otherwise end
 * it: Go programs die of SIGPIPE on their next log line to a closed pipe) and keeps the
 * tunnels up until the next agent adopts it. Without it, output goes through pipes and the
 * device lives as long as the agent.
 * With `adoptExisting`, a device that already answers on the socket (left running by a previous
 * agent, so its tunnels kept working meanwhile) is taken over instead of refused: it is watched
 * by polling the socket, replaced by our own process if it stops answering, and stopped by
 * deleting its interface (wireguard-go exits when its TUN device goes away).
 * Only a device of our own network namespace is ever adopted: the socket directory is shared by
 * all namespaces, so an answer may come from another agent's device, whose tunnels we would take
 * over (socket-owner.ts tells them apart).
 */
export type SupervisorEvent =
  | { type: 'started'; pid: number }
  | { type: 'adopted' }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null; output: string; willRestart: boolean }
  | { type: 'restarted'; pid: number }
  | { type: 'restart_failed'; error: WireGuardError }
  | { type: 'gave_up'; restarts: number };

export interface SupervisorOptions {
  iface: string;
  netns?: string;
  binary?: string;
  /** wireguard-go's LOG_LEVEL: `error` (default), `verbose` or `silent`. */
  logLevel?: 'error' | 'verbose' | 'silent';
  startTimeoutMs?: number;
  maxRestarts?: number;
  restartWindowMs?: number;
  restartBackoffMs?: number;
  /** Append wireguard-go's output here and let it outlive the agent (see above). */
  logFile?: string;
  /** Take over a wireguard-go that already serves this interface (default: refuse to start). */
  adoptExisting?: boolean;
  /** How often an adopted device is checked. Default 1 s. */
  watchIntervalMs?: number;
  onEvent?: (event: SupervisorEvent) => void;
}

const OUTPUT_TAIL_CHARS = 4096;
const IFACE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

export class WireGuardGoSupervisor {
  readonly uapi: UapiClient;
  private child: ChildProcess | undefined;
  private output = '';
  private stopping = false;
  private restartTimes: number[] = [];
  private exited: Promise<void> = Promise.resolve();
  private readLog: (() => string) | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly options: SupervisorOptions) {
    // Interface names are global in /var/run/wireguard, and shown in errors: keep them plain.
    if (!IFACE_NAME.test(options.iface)) {
      throw new WireGuardError(
        'wireguard.invalid_config',
        `interface name must be 1-15 of [A-Za-z0-9_.-], got ${JSON.stringify(options.iface)}`,
      );
    }
    this.uapi = new UapiClient(options.iface);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while a device we launched or adopted is expected to be serving. */
  get running(): boolean {
    return this.watchdog !== undefined || this.childAlive;
  }

  get adopted(): boolean {
    return this.watchdog !== undefined;
  }

  private get childAlive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    if (this.options.adoptExisting && (await this.uapi.ping())) {
      const { foreign } = await this.socketOwners();
      if (foreign) throw foreign;
      this.watch();
      this.emit({ type: 'adopted' });
      return;
    }
    const pid = await this.launch();
    this.emit({ type: 'started', pid });
  }

  async stop(timeoutMs = 3_000): Promise<void> {
    this.stopping = true;
    if (this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      await run('ip', ['link', 'del', this.options.iface], { netns: this.options.netns }).catch(() => undefined);
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && (await this.uapi.ping())) await sleep(20);
      return;
    }
    const child = this.child;
    if (!child || !this.childAlive) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(killer);
    await this.removeStaleSocket();
  }

  private watch(): void {
    let checking = false;
    this.watchdog = setInterval(() => {
      if (checking) return;
      checking = true;
      void this.uapi.ping().then((alive) => {
        checking = false;
        if (alive || !this.watchdog || this.stopping) return;
        clearInterval(this.watchdog);
        this.watchdog = undefined;
        this.emit({
          type: 'exited',
          code: null,
          signal: null,
          output: 'the adopted wireguard-go stopped answering',
          willRestart: this.withinBudget(),
        });
        this.scheduleRestart();
      });
    }, this.options.watchIntervalMs ?? 1_000);
    this.watchdog.unref();
  }

  /** A process killed hard leaves its socket behind; one that does not answer is ours to remove. */
  private async removeStaleSocket(): Promise<void> {
    if (!(await this.uapi.ping())) await rm(this.uapi.socketPath, { force: true });
  }

  private async launch(): Promise<number> {
    const { iface, netns, binary = 'wireguard-go', logLevel = 'error', startTimeoutMs = 5_000 } = this.options;
    const where = `${iface}${netns ? ` in netns ${netns}` : ''}`;
    // Sockets live in one directory for all namespaces: a socket that answers now belongs to
    // another process, and polling it below would mistake that process for ours.
    if (await this.uapi.ping()) {
      const { foreign, here } = await this.socketOwners();
      throw (
        foreign ??
        new WireGuardError(
          'wireguard.start_failed',
          `wireguard-go for ${where} not started: ${this.uapi.socketPath} is already served by ${here.map(describeOwner).join(', ')}`,
        )
      );
    }
    const argv = commandLine(binary, ['-f', iface], netns);
    this.output = '';
    const log = this.options.logFile === undefined ? undefined : openSync(this.options.logFile, 'a', 0o600);
    const logStart = log === undefined ? 0 : fstatSync(log).size;
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', log ?? 'pipe', log ?? 'pipe'],
        detached: log !== undefined,
        env: { ...process.env, LOG_LEVEL: logLevel },
      });
    } finally {
      if (log !== undefined) closeSync(log); // the child has its own copy
    }
    this.child = child;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString('utf8')).slice(-OUTPUT_TAIL_CHARS));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    if (this.options.logFile !== undefined) this.readLog = () => readFrom(this.options.logFile!, logStart);
    let spawnError: Error | undefined;
    let ready = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', (code, signal) => {
        resolve();
        // Exits during start are the starter's to report; only a running device is restarted.
        if (this.child === child && ready) this.onExit(code, signal);
      });
    });
    const deadline = Date.now() + startTimeoutMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      if (spawnError || !this.childAlive) {
        await this.exited;
        const why =
          spawnError?.message ??
          `exited with ${child.exitCode ?? child.signalCode}: ${this.recentOutput() || 'no output'}`;
        throw new WireGuardError('wireguard.start_failed', `wireguard-go for ${where} did not start: ${why}`, {
          cause: spawnError,
        });
      }
      if ((await this.uapi.ping()) && this.childAlive) {
        ready = true;
        return child.pid!;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.exited;
        throw new WireGuardError(
          'wireguard.start_failed',
          `wireguard-go for ${where} did not open its UAPI socket within ${startTimeoutMs} ms`,
        );
      }
      await sleep(delay);
    }
  }

  /**
   * Who serves our socket: processes in the namespace our device belongs in (`here`), and the
   * error to refuse with when it is served from elsewhere, or by nobody we can see (then we
   * cannot tell where the device is, and taking it over could steal another namespace's tunnels).
   */
  private async socketOwners(): Promise<{ here: SocketOwner[]; foreign?: WireGuardError }> {
    const { iface, netns } = this.options;
    const path = this.uapi.socketPath;
    const ours = await netnsInode(netns).catch((err: unknown) => {
      throw new WireGuardError(
        'wireguard.start_failed',
        `network namespace ${netns ?? 'of this process'}: ${String(err)}`,
        {
          cause: err,
        },
      );
    });
    const owners = await socketOwners(path);
    const here = owners.filter((o) => o.netnsInode === ours);
    const others = owners.filter((o) => o.netnsInode !== ours);
    const mine =
      netns === undefined ? `this agent's network namespace (net:[${ours}])` : `network namespace "${netns}"`;
    const rename = `each device on this machine needs its own interface name: start this agent with --interface <another name>`;
    if (others.length > 0) {
      return {
        here,
        foreign: new WireGuardError(
          'wireguard.interface_in_use',
          `interface name ${iface} is taken: ${path} is served by ${others.map(describeOwner).join(', ')}, not from ${mine}. ` +
            `All namespaces share ${UAPI_SOCKET_DIR}, so ${rename}`,
        ),
      };
    }
    if (here.length === 0) {
      return {
        here,
        foreign: new WireGuardError(
          'wireguard.interface_in_use',
          `interface name ${iface} is taken: ${path} answers, but no process we can inspect serves it, so it may be a device of another namespace and is not taken over; stop it, or ${rename}`,
        ),
      };
    }
    return { here };
  }

  /** What this run of wireguard-go said last (from the pipes, or from its part of the log file). */
  private recentOutput(): string {
    return (this.readLog?.() ?? this.output).slice(-OUTPUT_TAIL_CHARS).trim();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const willRestart = this.withinBudget();
    this.emit({ type: 'exited', code, signal, output: this.recentOutput(), willRestart });
    this.scheduleRestart();
  }

  private withinBudget(): boolean {
    const { maxRestarts = 5, restartWindowMs = 60_000 } = this.options;
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < restartWindowMs);
    return this.restartTimes.length < maxRestarts;
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    if (!this.withinBudget()) {
      this.emit({ type: 'gave_up', restarts: this.restartTimes.length });
      void this.removeStaleSocket();
      return;
    }
    this.restartTimes.push(Date.now());
    const backoff = (this.options.restartBackoffMs ?? 200) * 2 ** (this.restartTimes.length - 1);
    setTimeout(() => {
      if (this.stopping) return;
      this.launch().then(
        (pid) => this.emit({ type: 'restarted', pid }),
        (error: WireGuardError) => {
          if (this.stopping) return;
          this.emit({ type: 'restart_failed', error });
          this.scheduleRestart();
        },
      );
    }, backoff).unref();
  }

  private emit(event: SupervisorEvent): void {
    this.options.onEvent?.(event);
  }
}

function readFrom(path: string, offset: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(offset, size - OUTPUT_TAIL_CHARS);
      const buf = Buffer.alloc(Math.max(0, size - start));
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
