import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError } from '../../../client/control/control-error.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { ServerConfig } from '../../../server/config/schema.ts';
import { TEST_CA_FILE, startJsonHttpsServer, type JsonHttpsServer } from '../../support/https-server.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { authority, signToken, spiffeBundle } from '../../support/workload-tokens.ts';

const POLICY = `{
  "tagOwners": { "tag:payments": [] },
  "workloads": [ { "spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"] } ],
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;
const ID = 'spiffe://prod.example.org/ns/payments/sa/api';
const nowS = () => Math.floor(Date.now() / 1000);

describe('a workload must keep presenting fresh tokens', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });

  it("drops out of its peers' maps when its token expires, and comes back with the same node on a fresh one", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-spiffe-'));
    const prod = authority('prod-1');
    writeFileSync(join(dir, 'prod.json'), JSON.stringify(spiffeBundle([prod.jwk('jwt-svid')])));
    t = await startTestServer({
      spiffe: {
        audience: 'trellis',
        leewaySeconds: 0,
        trustDomains: [{ name: 'prod.example.org', bundleFile: join(dir, 'prod.json') }],
      },
    });
    await t.setPolicy(POLICY);
    const watcher = new TestAgent(t.url, 'watcher');
    agents.push(watcher);
    await watcher.join(await t.preAuthKey());
    watcher.connect();

    const workload = new TestAgent(t.url, 'payments');
    agents.push(workload);
    const register = (exp: number) =>
      workload.control.register({
        wireguardKey: workload.wireguard.publicKey,
        hostname: 'payments',
        credential: { type: 'spiffe-jwt', token: signToken(prod, { sub: ID, aud: 'trellis', exp }) },
      });
    const first = await register(nowS() + 2);
    await watcher.until((w) => w.peerNames().includes('payments'), 'workload in the map');

    // The server's expiry sweep takes it out of every map once the token's exp has passed.
    await watcher.until((w) => !w.peerNames().includes('payments'), 'workload dropped at expiry', 12_000);
    const expired = (await t.server.store.audit.list({ kind: 'node.expire', limit: 5 })).find(
      (e) => e.nodeId === first.id,
    );
    expect(expired).toMatchObject({ outcome: 'success', actor: 'system' });

    const again = await register(nowS() + 600);
    expect(again.id).toBe(first.id);
    expect(again.ipv4).toBe(first.ipv4);
    await watcher.until((w) => w.peerNames().includes('payments'), 'workload back in the map');
  }, 30_000);
});

describe('bundle endpoint over HTTPS', () => {
  let endpoint: JsonHttpsServer;
  let server: RunningServer;
  afterEach(async () => {
    await server.close();
    await endpoint.close();
  });

  it('is fetched on first use, kept until spiffe_refresh_hint passes, then fetched again', async () => {
    endpoint = await startJsonHttpsServer();
    const k1 = authority('k1');
    const k2 = authority('k2');
    endpoint.docs.set('/bundle', spiffeBundle([k1.jwk('jwt-svid')], 20, 1));
    let clock = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'trellis-spiffe-'));
    const config = ServerConfig.parse({
      dataDir: dir,
      listen: { host: '127.0.0.1', port: 0 },
      relay: { udpPort: 0 },
      log: { level: 'silent' },
      spiffe: {
        audience: 'trellis',
        trustDomains: [{ name: 'prod.example.org', bundleEndpoint: `${endpoint.url}/bundle`, caFile: TEST_CA_FILE }],
      },
    });
    // The server's clock is ours to move; proofs allow 30 s of skew, so steps stay below that.
    server = await startServer(config, { logger: pino({ level: 'silent' }), now: () => clock });
    const { secret } = await server.keys.createApiKey({ scopes: ['admin'], description: 'test' });
    await fetch(`${server.url}/api/v1/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: POLICY }),
    });

    const join1 = (a: ReturnType<typeof authority>) => {
      const agent = new TestAgent(server.url, 'w');
      return agent.control
        .register({
          wireguardKey: agent.wireguard.publicKey,
          hostname: 'w',
          credential: { type: 'spiffe-jwt', token: signToken(a, { sub: ID, aud: 'trellis', exp: nowS() + 3600 }) },
        })
        .catch((e: ControlError) => e);
    };
    expect(endpoint.hits.get('/bundle') ?? 0).toBe(0);
    expect(await join1(k1)).toMatchObject({ tags: ['tag:payments'] });
    expect(endpoint.hits.get('/bundle')).toBe(1);

    // Rotated at the source: before the hint passes, the old keys still hold.
    endpoint.docs.set('/bundle', spiffeBundle([k2.jwk('jwt-svid')], 20, 2));
    clock += 10_000;
    expect(await join1(k1)).toMatchObject({ tags: ['tag:payments'] });
    expect(await join1(k2)).toMatchObject({ code: 'jwt.unknown_kid' });
    expect(endpoint.hits.get('/bundle')).toBe(1);

    clock += 11_000;
    expect(await join1(k2)).toMatchObject({ tags: ['tag:payments'] });
    expect(endpoint.hits.get('/bundle')).toBe(2);
    expect(await join1(k1)).toMatchObject({ code: 'jwt.unknown_kid' });
  });

  it('without the CA of the endpoint, nothing is trusted and the server says to retry', async () => {
    endpoint = await startJsonHttpsServer();
    endpoint.docs.set('/bundle', spiffeBundle([authority('k1').jwk('jwt-svid')]));
    {
      const dir = mkdtempSync(join(tmpdir(), 'trellis-spiffe-'));
      const config = ServerConfig.parse({
        dataDir: dir,
        listen: { host: '127.0.0.1', port: 0 },
        relay: { udpPort: 0 },
        log: { level: 'silent' },
        spiffe: {
          audience: 'trellis',
          trustDomains: [{ name: 'prod.example.org', bundleEndpoint: `${endpoint.url}/bundle` }],
        },
      });
      server = await startServer(config, { logger: pino({ level: 'silent' }) });
    }
    const agent = new TestAgent(server.url, 'w');
    const err = await agent.control
      .register({
        wireguardKey: agent.wireguard.publicKey,
        hostname: 'w',
        credential: {
          type: 'spiffe-jwt',
          token: signToken(authority('k1'), { sub: ID, aud: 'trellis', exp: nowS() + 60 }),
        },
      })
      .catch((e: ControlError) => e);
    expect(err).toMatchObject({ code: 'jwt.keys_unavailable', status: 503 });
    expect((err as ControlError).retryable).toBe(true);
    expect(endpoint.hits.get('/bundle') ?? 0).toBe(0);
  });
});
