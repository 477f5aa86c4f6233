import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startServer, type RunningServer } from '../../server/app.ts';
import { ServerConfig } from '../../server/config/schema.ts';
import { ControlClient } from '../../client/control/control-client.ts';
import { generateMachineKey } from '../../client/control/machine-key.ts';
import { MapStream } from '../../client/control/map-stream.ts';
import type { MapState } from '../../client/control/map-state.ts';
import { generateKeyPair } from '../../client/wireguard/keys.ts';
import type { SelfNode } from '../../protocol/node.ts';

/** A real server on a loopback port with its own SQLite file, and an admin API key. */
export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  adminKey: string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** A pre-auth key secret for a (created on demand) user, or for tags. */
  preAuthKey(opts?: { user?: string; tags?: string[]; reusable?: boolean; ephemeral?: boolean }): Promise<string>;
  setPolicy(text: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServer(
  overrides: Record<string, unknown> = {},
  dataDir?: string,
  /** The server's clock (sessions, expiry); the real one unless given. */
  now?: () => number,
): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'trellis-test-'));
  const config = ServerConfig.parse({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    relay: { udpPort: 0 },
    ...overrides,
  });
  // TRELLIS_TEST_LOG=debug shows the server's log while a test runs.
  const server = await startServer(config, { logger: pino({ level: process.env.TRELLIS_TEST_LOG ?? 'silent' }), now });
  const { secret: adminKey } = await server.keys.createApiKey({ scopes: ['admin'], description: 'test' });
  const admin = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return {
    server,
    url: server.url,
    dataDir: dir,
    adminKey,
    admin,
    async preAuthKey(opts = {}) {
      const user = opts.tags?.length ? undefined : (opts.user ?? 'alice@example.com');
      if (user && !(await server.store.users.getByEmail(user))) await server.users.create({ email: user, groups: [] });
      const res = await admin<{ secret: string }>('POST', '/api/v1/preauth-keys', {
        user,
        tags: opts.tags ?? [],
        reusable: opts.reusable ?? false,
        ephemeral: opts.ephemeral ?? false,
      });
      if (res.status !== 201) throw new Error(`pre-auth key: ${JSON.stringify(res.body)}`);
      return res.body.secret;
    },
    async setPolicy(text) {
      const res = await admin('PUT', '/api/v1/policy', { policy: text });
      if (res.status !== 200) throw new Error(`policy: ${JSON.stringify(res.body)}`);
    },
    async stop() {
      await server.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A simulated agent: real keys, real signed requests, a real map stream; no data plane. */
export class TestAgent {
  readonly wireguard = generateKeyPair();
  readonly control: ControlClient;
  node?: SelfNode;
  stream?: MapStream;
  goodbye?: { code: string; message: string };
  private waiters: Array<() => void> = [];

  constructor(
    readonly url: string,
    readonly hostname: string,
    readonly machine = generateMachineKey(),
  ) {
    this.control = new ControlClient(url, this.machine.privateKey);
  }

  async join(authKey: string, extra: { advertiseTags?: string[]; advertiseRoutes?: string[] } = {}): Promise<SelfNode> {
    this.node = await this.control.register({
      wireguardKey: this.wireguard.publicKey,
      hostname: this.hostname,
      credential: { type: 'preauth-key', key: authKey },
      ...extra,
    });
    return this.node;
  }

  connect(): this {
    this.stream = new MapStream(this.control, {
      onMap: () => this.wake(),
      onGoodbye: (code, message) => {
        this.goodbye = { code, message };
        this.wake();
      },
    });
    this.stream.start();
    return this;
  }

  get map(): MapState {
    if (!this.stream) throw new Error('not connected');
    return this.stream.state;
  }

  peerNames(): string[] {
    return [...this.map.peers.values()].map((p) => p.name).sort();
  }

  /** Resolves when the condition holds on the agent's map (checked after every message). */
  async until(condition: (agent: this) => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.safe(condition)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.hostname}: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.stream?.stop();
  }

  private safe(condition: (agent: this) => boolean): boolean {
    try {
      return condition(this);
    } catch {
      return false;
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
