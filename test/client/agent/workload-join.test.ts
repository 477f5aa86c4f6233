import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../client/agent/agent.ts';
import { Engine } from '../../../client/agent/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authority, signToken, spiffeBundle } from '../../support/workload-tokens.ts';

/**
 * The agent owning a workload's credential, against a real server with a SPIFFE trust domain:
 * it reads the token from a file, registers, and registers again (the same node) when the file
 * is replaced. These cases stop before the data plane: `waitMs: 0` returns once registered.
 */
const ID = 'spiffe://prod.example.org/ns/payments/sa/api';
const POLICY = `{
  "tagOwners": { "tag:payments": [] },
  "workloads": [ { "spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"] } ],
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;
const nowS = () => Math.floor(Date.now() / 1000);

describe('a workload agent joining with a token file', () => {
  const prod = authority('prod-1');
  let server: TestServer;
  let bundleDir: string;
  let dir: string;
  let agent: Agent;
  const tokenPath = () => join(dir, 'svid.jwt');
  /** Replaces the file by rename, as spiffe-helper does. */
  const writeToken = (exp: number) => {
    const t = signToken(prod, { sub: ID, aud: 'trellis', exp });
    writeFileSync(`${tokenPath()}.tmp`, t);
    renameSync(`${tokenPath()}.tmp`, tokenPath());
    return t;
  };
  const newAgent = (serverUrl?: string) =>
    new Agent({
      ...(serverUrl && { serverUrls: [serverUrl] }),
      stateDir: dir,
      iface: 'trtest0',
      listenPort: 41641,
      meshRanges: ['100.64.0.0/10'],
      logger: pino({ level: 'silent' }),
      engine: new Engine({
        iface: 'trtest0',
        meshRanges: ['100.64.0.0/10'],
        openDevice: () => Promise.reject(new Error('no device in this test')),
      }),
    });
  const spec = () => ({ credential: 'spiffe-jwt' as const, source: { type: 'file' as const, path: tokenPath() } });

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'trellis-bundle-'));
    writeFileSync(join(bundleDir, 'prod.json'), JSON.stringify(spiffeBundle([prod.jwk('jwt-svid')])));
    server = await startTestServer({
      spiffe: {
        audience: 'trellis',
        trustDomains: [{ name: 'prod.example.org', bundleFile: join(bundleDir, 'prod.json') }],
      },
    });
    await server.setPolicy(POLICY);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(bundleDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-workload-'));
    agent = newAgent();
    await agent.start();
  });
  afterEach(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers with the token in the file and gets exactly the tag the policy maps its SPIFFE ID to', async () => {
    const exp = nowS() + 600;
    writeToken(exp);
    const status = await agent.up({ serverUrl: server.url, workload: spec(), hostname: 'payments', waitMs: 0 });
    expect(status.self).toMatchObject({ name: 'payments', tags: ['tag:payments'] });
    expect(status.self?.user).toBeUndefined();
    expect(Date.parse(status.keyExpiry!)).toBe(exp * 1000);
    expect(status.workload).toMatchObject({
      source: `token file ${tokenPath()}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    });
    expect(status.signIn).toBeUndefined(); // a workload renews itself; no person is asked to sign in
    const record = (await server.server.store.nodes.get(status.self!.id))!;
    expect(record).toMatchObject({ ephemeral: true, expiresAt: exp * 1000 });
  });

  it('joins on start as a gateway pod: advertises its routes, with masquerade and the hosts it serves kept', async () => {
    writeToken(nowS() + 600);
    // As `trellis agent --server URL --token-file ...` starts it.
    await agent.stop();
    agent = newAgent(server.url);
    await agent.start();
    // Resolves once the first map is applied, which this agent without a device never does: watch the server.
    void agent.joinOnStart(spec(), {
      hostname: 'gateway',
      advertiseRoutes: ['10.96.0.0/12', '10.244.0.0/16'],
      snatSubnetRoutes: true,
      gatewayFor: ['10.244.0.0/16'],
      routeProbes: [{ prefix: '10.96.0.0/12', probe: { kind: 'tcp', target: '10.96.0.1:443' } }],
      routePriority: 200,
    });
    const deadline = Date.now() + 5_000;
    let self = (await agent.status()).self;
    while (!self && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      self = (await agent.status()).self;
    }
    expect(self).toMatchObject({ name: 'gateway', tags: ['tag:payments'] });
    const record = (await server.server.store.nodes.get(self!.id))!;
    expect(record.advertisedRoutes.sort()).toEqual(['10.244.0.0/16', '10.96.0.0/12']);
    expect(record.routePriority).toBe(200);
    // The routing asked for is kept with the node, for the agent's router and the next restart.
    const node = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8'));
    expect(node).toMatchObject({
      snatSubnetRoutes: true,
      gatewayFor: ['10.244.0.0/16'],
      routeProbes: [{ prefix: '10.96.0.0/12' }],
    });
  });

  it('registers again when the file is replaced: same node, same addresses, the new expiry', async () => {
    writeToken(nowS() + 600);
    const first = await agent.up({ serverUrl: server.url, workload: spec(), hostname: 'payments', waitMs: 0 });
    const later = nowS() + 1800;
    writeToken(later);
    const isoLater = new Date(later * 1000).toISOString();
    // The server's record changes when it answers the new registration; the agent's status once
    // it has read that answer: wait for both.
    const deadline = Date.now() + 5_000;
    const read = async () => ({
      record: (await server.server.store.nodes.get(first.self!.id))!,
      status: await agent.status(),
    });
    let { record, status } = await read();
    const renewed = () => record.expiresAt === later * 1000 && status.workload?.expiresAt === isoLater;
    while (!renewed() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      ({ record, status } = await read());
    }
    expect(record.expiresAt).toBe(later * 1000);
    expect(status.self).toMatchObject({ id: first.self!.id, ipv4: first.self!.ipv4, ipv6: first.self!.ipv6 });
    expect(status.workload?.expiresAt).toBe(isoLater);
    const events = await server.server.store.audit.list({ kind: 'node.register', limit: 1 });
    expect(events[0]).toMatchObject({ nodeId: first.self!.id, message: expect.stringContaining('signed in again') });
  });

  it('goes on renewing after a restart, from the source kept in the state directory', async () => {
    writeToken(nowS() + 600);
    const first = await agent.up({ serverUrl: server.url, workload: spec(), hostname: 'payments', waitMs: 0 });
    await agent.stop();
    const later = nowS() + 2400;
    writeToken(later);
    agent = newAgent();
    await agent.start(); // registers with the current token at once
    const deadline = Date.now() + 5_000;
    while ((await server.server.store.nodes.get(first.self!.id))!.expiresAt !== later * 1000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect((await server.server.store.nodes.get(first.self!.id))!.expiresAt).toBe(later * 1000);
    expect((await agent.status()).self?.id).toBe(first.self!.id);
  });

  it('refuses a token file that is missing or not a JWT, naming the file, before asking the server', async () => {
    await expect(agent.up({ serverUrl: server.url, workload: spec(), waitMs: 0 })).rejects.toMatchObject({
      code: 'agent.bad_request',
      message: `token file ${tokenPath()} does not exist`,
    });
    writeFileSync(tokenPath(), 'hunter2');
    await expect(agent.up({ serverUrl: server.url, workload: spec(), waitMs: 0 })).rejects.toMatchObject({
      code: 'agent.bad_request',
      message: expect.stringContaining('does not hold a JWT'),
    });
    expect((await agent.status()).state).toBe('needs-login');
  });

  it('passes on the server refusing the token (another audience)', async () => {
    writeFileSync(tokenPath(), signToken(prod, { sub: ID, aud: 'someone-else', exp: nowS() + 600 }));
    await expect(agent.up({ serverUrl: server.url, workload: spec(), waitMs: 0 })).rejects.toMatchObject({
      code: 'agent.join_failed',
      message: expect.stringContaining('aud'),
    });
  });
});
