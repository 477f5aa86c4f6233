import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlError } from '../../../client/control/control-error.ts';
import type { Credential } from '../../../protocol/join.ts';
import { TEST_CA_FILE, startJsonHttpsServer, type JsonHttpsServer } from '../../support/https-server.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { authority, signToken, type Authority } from '../../support/workload-tokens.ts';

const POLICY = `{
  "tagOwners": { "tag:api": [], "tag:batch": [] },
  "workloads": [
    { "kubernetes": { "cluster": "prod", "namespace": "payments", "serviceAccount": "api" }, "tags": ["tag:api"] },
    { "kubernetes": { "cluster": "lab", "namespace": "*", "serviceAccount": "batch" }, "tags": ["tag:batch"] },
  ],
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;

describe('Kubernetes projected service-account tokens', () => {
  let t: TestServer;
  let apiServer: JsonHttpsServer;
  let prodKey: Authority;
  let labKey: Authority;
  let stranger: Authority;
  const nowS = () => Math.floor(Date.now() / 1000);
  /** Claims as the kubelet writes them into a projected volume. */
  const claims = (issuer: string, over: Record<string, unknown> = {}, ns = 'payments', sa = 'api') => ({
    iss: issuer,
    sub: `system:serviceaccount:${ns}:${sa}`,
    aud: ['trellis'],
    exp: nowS() + 3600,
    iat: nowS(),
    nbf: nowS(),
    'kubernetes.io': {
      namespace: ns,
      serviceaccount: { name: sa, uid: 'sa-uid-1' },
      pod: { name: 'api-7d9f-x2', uid: 'pod-uid-1' },
      node: { name: 'worker-3', uid: 'node-uid-1' },
    },
    ...over,
  });
  let prodIssuer: string;
  const labIssuer = 'https://lab.k8s.example';

  beforeAll(async () => {
    prodKey = authority('sa-key-1', 'RS256');
    labKey = authority('lab-key', 'ES256');
    stranger = authority('sa-key-1', 'RS256');
    apiServer = await startJsonHttpsServer();
    prodIssuer = apiServer.url;
    apiServer.docs.set('/.well-known/openid-configuration', {
      issuer: prodIssuer,
      jwks_uri: `${prodIssuer}/openid/v1/jwks`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    apiServer.docs.set('/openid/v1/jwks', { keys: [prodKey.jwk('sig')] });
    const dir = mkdtempSync(join(tmpdir(), 'trellis-k8s-'));
    writeFileSync(join(dir, 'lab-jwks.json'), JSON.stringify({ keys: [labKey.jwk()] }));
    t = await startTestServer({
      kubernetes: {
        leewaySeconds: 5,
        clusters: [
          { name: 'prod', issuer: prodIssuer, audience: 'trellis', caFile: TEST_CA_FILE },
          { name: 'lab', issuer: labIssuer, audience: 'trellis-lab', jwksFile: join(dir, 'lab-jwks.json') },
        ],
      },
    });
    await t.setPolicy(POLICY);
  });
  afterAll(async () => {
    await t.stop();
    await apiServer.close();
  });

  const register = (credential: Credential, name = 'pod') => {
    const agent = new TestAgent(t.url, name);
    return agent.control.register({ wireguardKey: agent.wireguard.publicKey, hostname: name, credential });
  };
  const refusal = async (credential: Credential) => {
    const err = await register(credential).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    return err as ControlError;
  };

  it('admits a pod by cluster, namespace and service account (keys from OIDC discovery), recording the pod', async () => {
    const sent = claims(prodIssuer);
    const token = signToken(prodKey, sent);
    const node = await register({ type: 'kubernetes', token, cluster: 'prod' });
    expect(node.tags).toEqual(['tag:api']);
    const record = (await t.server.store.nodes.get(node.id))!;
    expect(record.ephemeral).toBe(true);
    expect(record.expiresAt).toBe(sent.exp * 1000); // the token's own expiry, not a recomputed one
    expect(record.identity).toEqual({
      method: 'kubernetes',
      cluster: 'prod',
      namespace: 'payments',
      serviceAccount: 'api',
      serviceAccountUid: 'sa-uid-1',
      podName: 'api-7d9f-x2',
      podUid: 'pod-uid-1',
      nodeName: 'worker-3',
    });
    expect(apiServer.hits.get('/.well-known/openid-configuration')).toBe(1);
    expect(apiServer.hits.get('/openid/v1/jwks')).toBe(1);
    const [registered] = await t.server.store.audit.list({ limit: 1 });
    expect(registered).toMatchObject({
      kind: 'node.register',
      method: 'kubernetes',
      actor: 'prod/payments/api',
      nodeId: node.id,
    });
  });

  it("finds the cluster by the token's issuer when the credential names none; keys from a file work too", async () => {
    expect((await register({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer)) })).tags).toEqual([
      'tag:api',
    ]);
    const lab = signToken(labKey, claims(labIssuer, { aud: 'trellis-lab' }, 'jobs', 'batch'));
    expect((await register({ type: 'kubernetes', token: lab })).tags).toEqual(['tag:batch']);
  });

  const cases: Array<[string, () => Credential, string]> = [
    [
      'an unknown cluster name',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer)), cluster: 'staging' }),
      'kubernetes.unknown_cluster',
    ],
    [
      'an issuer no cluster has',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims('https://evil.example')) }),
      'kubernetes.unknown_cluster',
    ],
    [
      "another cluster's issuer under this cluster's name",
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(labIssuer)), cluster: 'prod' }),
      'jwt.wrong_issuer',
    ],
    [
      'a key the cluster does not have (same kid)',
      () => ({ type: 'kubernetes', token: signToken(stranger, claims(prodIssuer)), cluster: 'prod' }),
      'jwt.bad_signature',
    ],
    [
      'a key of another cluster',
      () => ({ type: 'kubernetes', token: signToken(labKey, claims(prodIssuer)), cluster: 'prod' }),
      'jwt.unknown_kid',
    ],
    [
      'the wrong audience',
      () => ({
        type: 'kubernetes',
        token: signToken(prodKey, claims(prodIssuer, { aud: ['https://kubernetes.default.svc'] })),
      }),
      'jwt.wrong_audience',
    ],
    [
      'an expired token',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer, { exp: nowS() - 60 })) }),
      'jwt.expired',
    ],
    [
      'a correctly signed exp beyond the last storable time (it once answered 500 after writing the node)',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer, { exp: 1e13 })) }),
      'jwt.bad_claim',
    ],
    [
      'a token not yet valid',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer, { nbf: nowS() + 600 })) }),
      'jwt.not_yet_valid',
    ],
    [
      'a legacy secret token (no kubernetes.io claim)',
      () => ({ type: 'kubernetes', token: signToken(prodKey, { ...claims(prodIssuer), 'kubernetes.io': undefined }) }),
      'kubernetes.not_projected',
    ],
    [
      'a sub that is not a service account',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer, { sub: 'admin' })) }),
      'kubernetes.bad_subject',
    ],
    [
      'a sub disagreeing with the kubernetes.io claim',
      () => ({
        type: 'kubernetes',
        token: signToken(prodKey, claims(prodIssuer, { sub: 'system:serviceaccount:kube-system:api' })),
      }),
      'kubernetes.inconsistent',
    ],
    [
      'alg none',
      () => ({
        type: 'kubernetes',
        token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims(prodIssuer))).toString('base64url')}.`,
      }),
      'jwt.bad_alg',
    ],
    [
      'an oversized token',
      () => ({ type: 'kubernetes', token: signToken(prodKey, claims(prodIssuer, { pad: 'x'.repeat(9000) })) }),
      'jwt.too_large',
    ],
  ];
  it.each(cases)('refuses %s, with an audit record', async (_what, make, code) => {
    const err = await refusal(make());
    expect(err.code).toBe(code);
    expect(err.status).toBe(401);
    const [audit] = await t.server.store.audit.list({ kind: 'auth', limit: 1 });
    expect(audit).toMatchObject({ outcome: 'failure', method: 'kubernetes', code });
  });

  it('refuses a service account the policy maps to no tags', async () => {
    const err = await refusal({
      type: 'kubernetes',
      token: signToken(prodKey, claims(prodIssuer, {}, 'payments', 'default')),
    });
    expect(err).toMatchObject({ code: 'workload.no_tags', status: 403 });
    expect(err.message).toContain('prod/payments/default');
  });
});
