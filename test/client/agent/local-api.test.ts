import { connect } from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Agent } from '../../../client/agent/agent.ts';
import { Engine } from '../../../client/agent/engine.ts';
import { LocalApiClient } from '../../../client/agent/local-api/client.ts';
import { LocalApi } from '../../../client/agent/local-api/server.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { startLocalAgent } from '../../support/local-agent.ts';

/**
 * The local API over a real unix socket, against a real agent and a real server. These cases
 * never get as far as a network map, so the engine is never asked to touch the machine.
 */
describe('the agent local API', () => {
  let server: TestServer;
  let dir: string;
  let api: LocalApi;
  let client: LocalApiClient;
  const socket = () => join(dir, 'agent.sock');

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-api-'));
    ({ api } = await startLocalAgent(dir));
    client = new LocalApiClient(socket());
  });
  afterEach(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on a socket only root and its group may open', () => {
    expect(statSync(socket()).mode & 0o777).toBe(0o660);
  });

  it('reports a fresh agent as needing a login, with no peers', async () => {
    expect(await client.status()).toMatchObject({ state: 'needs-login', connected: false, peers: [], mapVersion: -1 });
  });

  it('refuses up without a server or a credential, saying what to pass', async () => {
    await expect(client.up({})).rejects.toMatchObject({
      code: 'agent.bad_request',
      message: expect.stringContaining('--server URL'),
    });
    await expect(client.up({ serverUrl: server.url })).rejects.toMatchObject({
      code: 'agent.not_logged_in',
      message: expect.stringContaining('--auth-key'),
    });
  });

  it('validates the request body at the boundary and names the field', async () => {
    await expect(
      client.up({ serverUrl: 'ftp://x', credential: { type: 'preauth-key', key: 'k' } }),
    ).rejects.toMatchObject({ code: 'agent.bad_request', message: expect.stringMatching(/^serverUrl: /) });
    await expect(client.up({ credential: { type: 'password', key: 'k' } as never })).rejects.toMatchObject({
      code: 'agent.bad_request',
      message: expect.stringMatching(/^credential\.type: /),
    });
  });

  it('passes on the server refusing a credential, without echoing the secret', async () => {
    const err = await client
      .up({ serverUrl: server.url, credential: { type: 'preauth-key', key: 'trellis-preauth-not-a-real-key' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'agent.join_failed',
      message: expect.stringContaining(`joining ${server.url} failed`),
    });
    expect((err as Error).message).not.toContain('not-a-real-key');
    expect((await client.status()).state).toBe('needs-login');
  });

  it('answers whois with not found before the node has a map', async () => {
    await expect(client.whois('100.64.0.1')).rejects.toMatchObject({ code: 'agent.not_found' });
  });

  it("passes a service's audit report to the server, signed as this node's; refuses it before a join", async () => {
    const report = {
      events: [
        {
          kind: 'kube.request' as const,
          caller: { login: 'mia@example.com', nodeId: 'n1', nodeName: 'laptop', address: '100.64.0.9' },
          verb: 'get',
          resource: 'pods',
          status: 403,
          mode: 'auth' as const,
        },
      ],
    };
    await expect(client.reportAudit(report)).rejects.toMatchObject({ code: 'agent.not_logged_in' });
    await expect(client.reportAudit({ events: [] })).rejects.toMatchObject({ code: 'agent.bad_request' });
    const key = await server.preAuthKey({ tags: ['tag:k8s'] });
    await client.up({ serverUrl: server.url, credential: { type: 'preauth-key', key }, hostname: 'proxy', waitMs: 0 });
    await client.reportAudit(report);
    const page = (await server.admin('GET', '/api/v1/audit?kind=kube.request')).body as { items: unknown[] };
    expect(page.items).toEqual([
      expect.objectContaining({
        actor: 'mia@example.com',
        outcome: 'failure',
        message: expect.stringContaining('kube-proxy on proxy: get pods'),
      }),
    ]);
  });

  it('refuses to start a second agent on a socket that answers', async () => {
    const engine = new Engine({
      iface: 'trtest1',
      meshRanges: [],
      openDevice: () => Promise.reject(new Error('unused')),
    });
    const other = new LocalApi(
      new Agent({
        stateDir: dir,
        iface: 'trtest1',
        listenPort: 1,
        meshRanges: [],
        engine,
        logger: pino({ level: 'silent' }),
      }),
      { socketPath: socket() },
    );
    await expect(other.listen()).rejects.toMatchObject({ code: 'agent.unavailable' });
    await new Promise<void>((resolve, reject) =>
      connect(socket())
        .once('connect', function (this: import('node:net').Socket) {
          this.destroy();
          resolve();
        })
        .once('error', reject),
    );
  });

  it('tells the CLI how to start the agent when none is running', async () => {
    await expect(new LocalApiClient(join(dir, 'nothing.sock')).status()).rejects.toMatchObject({
      code: 'agent.unavailable',
      message: expect.stringContaining('trellis agent'),
    });
  });
});
