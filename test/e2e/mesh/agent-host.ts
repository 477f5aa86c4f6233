import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalApiClient } from '../../../client/agent/local-api/client.ts';
import type { StatusResponse, UpRequest } from '../../../client/agent/local-api/messages.ts';
import { run, type RunResult } from '../../../client/system/run.ts';
import type { Host, Lab } from '../harness/lab.ts';
import type { BackgroundProcess } from '../harness/process.ts';
import { TRELLIS_BIN } from './repo.ts';

/**
 * A lab host running the real agent (`trellis agent`) as a process in its namespace, with its
 * own state directory and a WireGuard interface name unique to the lab. The test drives it the
 * way a person does, with `trellis up/status/...` run inside the namespace (`cli`), or, where
 * a CLI start-up per call would only slow the test down, through the same local API socket
 * (`api`; a unix socket is a file, so the test reaches it from the root namespace).
 */
export class AgentHost {
  private process: BackgroundProcess | undefined;
  readonly api: LocalApiClient;

  private constructor(
    readonly host: Host,
    readonly stateDir: string,
    readonly iface: string,
    private readonly extraFlags: readonly string[] = [],
  ) {
    this.api = new LocalApiClient(join(stateDir, 'agent.sock'));
  }

  static async start(lab: Lab, label: string, extraFlags: readonly string[] = []): Promise<AgentHost> {
    return AgentHost.startOn(await lab.addHost(label), extraFlags);
  }

  /** An agent on a host the test placed itself (e.g. behind a NAT); `iface` defaults to one unique to the host. */
  static async startOn(host: Host, extraFlags: readonly string[] = [], iface?: string): Promise<AgentHost> {
    const { lab, label } = host;
    const a = new AgentHost(
      host,
      mkdtempSync(join(tmpdir(), `trellis-e2e-${label}-`)),
      iface ?? lab.uniqueName(`m${label}`),
      extraFlags,
    );
    await a.start();
    return a;
  }

  get label(): string {
    return this.host.label;
  }

  /** The agent process's pid, while it runs. */
  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  get output(): string {
    return this.process?.output ?? '';
  }

  async start(): Promise<void> {
    this.process = this.host.spawn('node', [
      TRELLIS_BIN,
      'agent',
      '--state-dir',
      this.stateDir,
      '--interface',
      this.iface,
      '--log-level',
      'info',
      ...this.extraFlags,
    ]);
    await this.process.waitFor(/agent ready/, 30_000);
  }

  /** SIGTERM, as systemd stops it. */
  async stop(): Promise<void> {
    await this.process?.stop(5_000);
  }

  /**
   * A power cut: the agent and its wireguard-go die at once (SIGKILL); the interface goes with
   * them. Returns when the signals went out (`performance.now()`), for a caller that times what
   * follows: finding the victims takes a process start of its own.
   */
  async crash(): Promise<number> {
    const victims = [this.process?.pid, ...(await this.wireguardGoPids())].filter((p): p is number => p !== undefined);
    const killedAt = performance.now();
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 5_000;
    while ((this.process?.running || (await this.wireguardGoPids()).length > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    return killedAt;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** `trellis ARGS` inside the namespace, talking to this agent. */
  cli(args: readonly string[]): Promise<RunResult & { exitCode: number }> {
    return this.host.exec('node', [TRELLIS_BIN, ...args, '--state-dir', this.stateDir], { timeoutMs: 60_000 }).then(
      (r) => ({ ...r, exitCode: 0 }),
      (err: { stdout?: string; stderr?: string; exitCode?: number | null }) => ({
        stdout: err.stdout ?? '',
        stderr: err.stderr ?? '',
        exitCode: err.exitCode ?? -1,
      }),
    );
  }

  up(serverUrl: string, authKey: string, extra: Partial<UpRequest> = {}): Promise<StatusResponse> {
    return this.api.up({
      serverUrl,
      credential: { type: 'preauth-key', key: authKey },
      hostname: this.label,
      ...extra,
    });
  }

  status(): Promise<StatusResponse> {
    return this.api.status();
  }

  /** Waits until this agent's status satisfies `ok` (maps arrive asynchronously). */
  async until(ok: (s: StatusResponse) => boolean, what: string, timeoutMs = 10_000): Promise<StatusResponse> {
    const deadline = Date.now() + timeoutMs;
    let last: StatusResponse | undefined;
    for (;;) {
      last = await this.status().catch(() => undefined);
      if (last && ok(last)) return last;
      if (Date.now() > deadline)
        throw new Error(
          `${this.label}: timed out waiting for ${what}; last status: ${JSON.stringify(last)}\n${this.output.slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async ipv4(): Promise<string> {
    return (await this.status()).self!.ipv4;
  }

  /** Pids of the wireguard-go processes in this host's namespace. */
  async wireguardGoPids(): Promise<number[]> {
    const { stdout } = await run('ip', ['netns', 'pids', this.host.netns]).catch(() => ({ stdout: '' }));
    const pids = stdout.split(/\s+/).filter(Boolean).map(Number);
    return pids.filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'wireguard-go';
      } catch {
        return false;
      }
    });
  }

  /** File modes in the state directory, e.g. { 'keys.json': 0o600 }. */
  stateModes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of ['keys.json', 'node.json', 'map.json']) {
      const p = join(this.stateDir, f);
      if (existsSync(p)) out[f] = statSync(p).mode & 0o777;
    }
    return out;
  }

  dispose(): void {
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
