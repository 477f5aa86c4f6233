import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { ServerConfig } from '../../../server/config/schema.ts';
import type { Store } from '../../../server/store/store.ts';

/**
 * A server replica in this process on a database shared with others. A store object passed in
 * is the caller's to close: a replica that stops leaves it open for the others.
 */
export interface InProcessReplica {
  server: RunningServer;
  url: string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** The secret of a new reusable pre-auth key for tagged nodes (default tag:server). */
  taggedKey(tags?: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startReplica(
  id: string,
  /** Shared (SQLite); absent: the replica opens its own from the config's `store` (PostgreSQL). */
  store: Store | undefined,
  overrides: Record<string, unknown> = {},
  adminKey?: { secret: string },
): Promise<InProcessReplica & { adminKey: string }> {
  const dir = mkdtempSync(join(tmpdir(), `trellis-replica-${id}-`));
  const config = ServerConfig.parse({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    relay: { udpPort: -1 },
    replica: { id, heartbeatMs: 200, deadAfterMs: 1000 },
    ...overrides,
  });
  const server = await startServer(config, {
    ...(store && { store: { ...store, close: async () => {} } }),
    logger: pino({ level: process.env.TRELLIS_TEST_LOG ?? 'silent' }),
  });
  const key = adminKey ?? (await server.keys.createApiKey({ scopes: ['admin'], description: `test ${id}` }));
  const admin = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key.secret}`,
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
    adminKey: key.secret,
    admin,
    async taggedKey(tags = ['tag:server']) {
      const res = await admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { tags, reusable: true });
      if (res.status !== 201) throw new Error(`pre-auth key for ${tags.join(',')}: ${JSON.stringify(res.body)}`);
      return res.body.secret;
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
