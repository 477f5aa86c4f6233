import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../../client/agent/agent.ts';
import { Engine } from '../../../client/agent/engine.ts';
import { WorkloadApiSource } from '../../../client/identity/workload-api.ts';
import {
  decodeJwtSvidRequest,
  decodeJwtSvidResponse,
  encodeJwtSvidRequest,
  encodeJwtSvidResponse,
  FETCH_JWT_SVID,
  type JwtSvidRequest,
} from '../../../client/identity/workload-api-proto.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

/**
 * A stand-in SPIRE agent: a real grpc-js server on a unix socket serving FetchJWTSVID as the
 * Workload API specifies (it refuses calls without the `workload.spiffe.io: true` metadata), and
 * signing real JWT-SVIDs with jose for the audience asked, each call a fresh one.
 */
const ID = 'spiffe://prod.example.org/ns/payments/sa/api';
const OTHER = 'spiffe://prod.example.org/ns/payments/sa/batch';

interface FakeSpire {
  endpoint: string;
  requests: Array<JwtSvidRequest & { metadata: string[] }>;
  lifetimeS: number;
  ids: string[];
  jwk: Record<string, unknown>;
  close(): Promise<void>;
}

async function startFakeSpire(dir: string): Promise<FakeSpire> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'spire-1', use: 'jwt-svid' };
  const server = new Server();
  const fake: FakeSpire = {
    endpoint: `unix://${join(dir, 'spire-agent.sock')}`,
    requests: [],
    lifetimeS: 300,
    ids: [ID, OTHER],
    jwk,
    close: () => Promise.resolve(),
  };
  const sign = (sub: string, aud: string[]) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'spire-1', typ: 'JWT' })
      .setSubject(sub)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + fake.lifetimeS)
      .sign(privateKey as CryptoKey);
  server.register(
    FETCH_JWT_SVID,
    async (call: ServerUnaryCall<JwtSvidRequest, Buffer>, callback: sendUnaryData<Buffer>) => {
      fake.requests.push({ ...call.request, metadata: call.metadata.get('workload.spiffe.io').map(String) });
      if (call.metadata.get('workload.spiffe.io')[0] !== 'true')
        return callback({ code: status.INVALID_ARGUMENT, details: 'security header missing from request' });
      if (call.request.audience.length === 0)
        return callback({ code: status.INVALID_ARGUMENT, details: 'audience must be specified' });
      const ids = call.request.spiffeId ? fake.ids.filter((i) => i === call.request.spiffeId) : fake.ids;
      if (ids.length === 0) return callback({ code: status.PERMISSION_DENIED, details: 'no identity issued' });
      callback(
        null,
        encodeJwtSvidResponse(
          await Promise.all(
            ids.map(async (spiffeId) => ({
              spiffeId,
              svid: await sign(spiffeId, call.request.audience),
              hint: 'internal',
            })),
          ),
        ),
      );
    },
    (res: Buffer) => res,
    (req: Buffer) => decodeJwtSvidRequest(req),
    'unary',
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(fake.endpoint, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  fake.close = () => new Promise((resolve) => server.tryShutdown(() => resolve()));
  return fake;
}

describe('the SPIFFE Workload API wire format', () => {
  it('encodes a request with the field numbers of workload.proto', () => {
    // audience = 1 (twice, repeated), spiffe_id = 2: tag bytes 0x0a and 0x12.
    expect(encodeJwtSvidRequest({ audience: ['a', 'bc'], spiffeId: 'spiffe://x' }).toString('hex')).toBe(
      `0a0161${'0a026263'}12${'0a'}${Buffer.from('spiffe://x').toString('hex')}`,
    );
    expect(decodeJwtSvidRequest(encodeJwtSvidRequest({ audience: ['trellis'] }))).toEqual({ audience: ['trellis'] });
  });

  it('decodes svids, skipping fields it does not know, and refuses truncated input', () => {
    const svid = Buffer.concat([
      Buffer.from([0x0a, 3]),
      Buffer.from('id1'),
      Buffer.from([0x12, 3]),
      Buffer.from('a.b'),
      Buffer.from([0x1a, 1]),
      Buffer.from('h'),
      Buffer.from([0x20, 0x96, 0x01]),
      Buffer.from([0x2d, 1, 2, 3, 4]),
    ]); // unknown varint field 4 and fixed32 field 5
    const response = Buffer.concat([Buffer.from([0x0a, svid.length]), svid, Buffer.from([0x10, 7])]);
    expect(decodeJwtSvidResponse(response)).toEqual([{ spiffeId: 'id1', svid: 'a.b', hint: 'h' }]);
    expect(decodeJwtSvidResponse(encodeJwtSvidResponse([{ spiffeId: ID, svid: 'x.y.z' }]))).toEqual([
      { spiffeId: ID, svid: 'x.y.z' },
    ]);
    expect(() => decodeJwtSvidResponse(Buffer.from([0x0a, 9, 1]))).toThrow(/truncated/);
  });
});

describe('fetching JWT-SVIDs from the Workload API', () => {
  let dir: string;
  let spire: FakeSpire;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-spire-'));
    spire = await startFakeSpire(dir);
  });
  afterAll(async () => {
    await spire.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the stand-in refuses a call without the workload.spiffe.io metadata, as SPIRE does', async () => {
    const client = new Client(spire.endpoint, credentials.createInsecure());
    const err = await new Promise<{ code: number; details: string }>((resolve) => {
      client.makeUnaryRequest(
        FETCH_JWT_SVID,
        (r: Buffer) => r,
        (r: Buffer) => r,
        encodeJwtSvidRequest({ audience: ['trellis'] }),
        new Metadata(),
        {},
        (e) => resolve(e as never),
      );
    });
    client.close();
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'security header missing from request' });
  });

  it('asks for the audience with the metadata and returns the first SVID, or the one named', async () => {
    const source = new WorkloadApiSource({ endpoint: spire.endpoint, audience: 'trellis' });
    const token = await source.read();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      sub: string;
      aud: string[];
    };
    expect(claims).toMatchObject({ sub: ID, aud: ['trellis'] });
    expect(spire.requests.at(-1)).toEqual({ audience: ['trellis'], metadata: ['true'] });
    const named = new WorkloadApiSource({ endpoint: spire.endpoint, audience: 'trellis', spiffeId: OTHER });
    expect(JSON.parse(Buffer.from((await named.read()).split('.')[1]!, 'base64url').toString()).sub).toBe(OTHER);
    expect(spire.requests.at(-1)).toMatchObject({ spiffeId: OTHER });
    source.close();
    named.close();
  });

  it('says when the API refuses or nobody answers, naming the socket', async () => {
    const none = new WorkloadApiSource({
      endpoint: spire.endpoint,
      audience: 'trellis',
      spiffeId: 'spiffe://prod.example.org/nobody',
    });
    await expect(none.read()).rejects.toMatchObject({
      code: 'workload_api.refused',
      message: expect.stringContaining('PERMISSION_DENIED: no identity issued'),
    });
    const gone = new WorkloadApiSource({
      endpoint: `unix://${join(dir, 'nothing.sock')}`,
      audience: 'trellis',
      timeoutMs: 2_000,
    });
    await expect(gone.read()).rejects.toMatchObject({
      code: 'workload_api.unavailable',
      message: expect.stringContaining(join(dir, 'nothing.sock')),
    });
    none.close();
    gone.close();
  });
});

describe('a workload agent joining with the Workload API', () => {
  let dir: string;
  let spire: FakeSpire;
  let server: TestServer;
  let agent: Agent | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-spire-agent-'));
    spire = await startFakeSpire(dir);
    writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ keys: [spire.jwk], spiffe_sequence: 1 }));
    server = await startTestServer({
      spiffe: {
        audience: 'trellis',
        leewaySeconds: 0,
        trustDomains: [{ name: 'prod.example.org', bundleFile: join(dir, 'bundle.json') }],
      },
    });
    await server.setPolicy(`{ "tagOwners": { "tag:payments": [] },
      "workloads": [ { "spiffe": "${ID}", "tags": ["tag:payments"] } ],
      "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ] }`);
  });
  afterEach(() => agent?.stop());
  afterAll(async () => {
    await server.stop();
    await spire.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('joins with a fetched SVID and fetches a fresh one halfway to expiry: same node, later expiry', async () => {
    spire.lifetimeS = 4;
    agent = new Agent({
      stateDir: join(dir, 'state'),
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
    await agent.start();
    const first = await agent.up({
      serverUrl: server.url,
      hostname: 'payments',
      waitMs: 0,
      workload: {
        credential: 'spiffe-jwt',
        source: { type: 'workload-api', endpoint: spire.endpoint, audience: 'trellis', spiffeId: ID },
      },
    });
    expect(first.self).toMatchObject({ name: 'payments', tags: ['tag:payments'] });
    expect(first.workload?.source).toBe(`SPIFFE Workload API at ${spire.endpoint}`);
    const firstExpiry = Date.parse(first.keyExpiry!);
    const deadline = Date.now() + 6_000;
    let record = (await server.server.store.nodes.get(first.self!.id))!;
    while (record.expiresAt === firstExpiry && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      record = (await server.server.store.nodes.get(first.self!.id))!;
    }
    expect(record.expiresAt).toBeGreaterThan(firstExpiry);
    expect(record.ipv4).toBe(first.self!.ipv4);
    // Renewed before the first SVID ran out.
    expect(Date.now()).toBeLessThan(firstExpiry);
  }, 15_000);
});
