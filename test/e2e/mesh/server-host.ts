import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host, Lab } from '../harness/lab.ts';
import type { BackgroundProcess } from '../harness/process.ts';
import { TRELLIS_SERVER_BIN } from './repo.ts';

/**
 * The coordination server as a real process in its own lab namespace, reachable by agents over
 * the lab's internet segment. The test process lives in the root namespace and cannot reach it
 * by IP, so administration runs a tiny fetch script inside the server's namespace.
 */
const ADMIN_JS = `
const [method, url, key, body] = process.argv.slice(1);
fetch(url, { method, headers: { authorization: 'Bearer ' + key, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body || undefined })
  .then(async (r) => { process.stdout.write(JSON.stringify({ status: r.status, body: (await r.text()) || null })); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

export const SERVER_PORT = 8080;

export class ServerHost {
  private process: BackgroundProcess | undefined;
  private adminKey = '';

  private constructor(
    readonly host: Host,
    readonly dataDir: string,
  ) {}

  static async start(lab: Lab, extraFlags: string[] = []): Promise<ServerHost> {
    const s = await ServerHost.prepare(lab);
    await s.start(extraFlags);
    return s;
  }

  /** The server's host, not started yet: for a config that must name the server's own URL. */
  static async prepare(lab: Lab): Promise<ServerHost> {
    const host = await lab.addHost('srv');
    return new ServerHost(host, mkdtempSync(join(tmpdir(), 'trellis-e2e-server-')));
  }

  get url(): string {
    return `http://${this.host.address}:${SERVER_PORT}`;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** The server's process id (`ip netns exec` execs it), e.g. to read its CPU time from /proc. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts (or starts again, on the same database) the server process. */
  async start(extraFlags: string[] = []): Promise<void> {
    this.process = this.host.spawn('node', [
      TRELLIS_SERVER_BIN,
      'serve',
      '--listen.host',
      this.host.address,
      '--listen.port',
      String(SERVER_PORT),
      '--data-dir',
      this.dataDir,
      '--log.level',
      'warn',
      // Off unless the test asks for it (a flag may be given once only).
      ...(extraFlags.includes('--relay.udpPort') ? [] : ['--relay.udpPort', '-1']),
      ...extraFlags,
    ]);
    await this.waitHealthy();
    this.adminKey ||= readFileSync(join(this.dataDir, 'admin-api-key'), 'utf8').trim();
  }

  async stop(): Promise<void> {
    await this.process?.stop(5_000);
  }

  async admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const { stdout } = await this.host.exec('node', [
      '-e',
      ADMIN_JS,
      method,
      this.url + path,
      this.adminKey,
      body === undefined ? '' : JSON.stringify(body),
    ]);
    const res = JSON.parse(stdout) as { status: number; body: string | null };
    return { status: res.status, body: (res.body ? JSON.parse(res.body) : undefined) as T };
  }

  /** A reusable pre-auth key for tagged nodes (or for a user, created on demand). */
  async preAuthKey(opts: { tags?: string[]; user?: string } = {}): Promise<string> {
    if (opts.user) await this.admin('POST', '/api/v1/users', { email: opts.user, groups: [] });
    const res = await this.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', {
      user: opts.user,
      tags: opts.tags ?? [],
      reusable: true,
      ephemeral: false,
    });
    if (res.status !== 201) throw new Error(`pre-auth key: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.secret;
  }

  async setPolicy(text: string): Promise<void> {
    const res = await this.admin('PUT', '/api/v1/policy', { policy: text });
    if (res.status !== 200) throw new Error(`policy: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async nodes(): Promise<Array<{ id: string; name: string; ipv4: string }>> {
    const res = await this.admin<{ items: Array<{ id: string; name: string; ipv4: string }> }>('GET', '/api/v1/nodes');
    return res.body.items;
  }

  async deleteNode(id: string): Promise<void> {
    const res = await this.admin('DELETE', `/api/v1/nodes/${id}`);
    if (res.status !== 204) throw new Error(`delete node: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Removes the data directory (the lab's cleanup stops the process). */
  dispose(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const probe = `fetch(${JSON.stringify(`${this.url}/healthz`)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
    for (;;) {
      if (!this.process!.running) throw new Error(`the server exited: ${this.process!.output}`);
      const ok = await this.host.exec('node', ['-e', probe]).then(
        () => true,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`the server did not answer /healthz within ${timeoutMs} ms: ${this.process!.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
