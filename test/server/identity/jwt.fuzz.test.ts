import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy, type Policy } from '../../../policy/index.ts';
import { parseJwks } from '../../../server/identity/jwt/jwks.ts';
import { KeySource } from '../../../server/identity/jwt/key-source.ts';
import { kubernetesAuthenticator } from '../../../server/identity/kubernetes/kubernetes-authenticator.ts';
import { spiffeAuthenticator } from '../../../server/identity/spiffe/spiffe-authenticator.ts';
import { fuzzAsync, expectCodedError, mutatedText } from '../../support/fuzz.ts';
import { authority, rawToken, signToken } from '../../support/workload-tokens.ts';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
const AUDIENCE = 'trellis-test';
const ISSUER = 'https://k8s.example.org';
const signer = authority('k1', 'ES256');
const context = { machineKey: 'bWFjaGluZQ' };
const policy: Policy = parsePolicy(`{
  "tagOwners": { "tag:pay": [] },
  "workloads": [
    { "spiffe": "spiffe://prod.example.org/ns/*", "tags": ["tag:pay"] },
    { "kubernetes": { "cluster": "prod", "namespace": "pay", "serviceAccount": "*" }, "tags": ["tag:pay"] },
  ],
}`).policy!;
const keys = () =>
  new KeySource({
    name: 'test keys',
    origin: { fetch: async () => ({ keys: [signer.jwk('jwt-svid')] }) },
    parse: (json) => ({ keys: parseJwks(json, () => true).keys }),
    defaultRefreshSeconds: 3600,
    now: () => NOW_MS,
  });
const spiffe = spiffeAuthenticator({
  audience: AUDIENCE,
  bundles: new Map([['prod.example.org', keys()]]),
  policy: () => policy,
  now: () => NOW_MS,
  leewaySeconds: 5,
  maxTokenBytes: 8192,
});
const kubernetes = kubernetesAuthenticator({
  clusters: [{ name: 'prod', issuer: ISSUER, audience: AUDIENCE, keys: keys() }],
  policy: () => policy,
  now: () => NOW_MS,
  leewaySeconds: 5,
  maxTokenBytes: 8192,
});

/** Claim values near the edges each check cares about, and sometimes any JSON. */
const time = fc.oneof(
  fc.integer({ min: NOW - 100, max: NOW + 1000 }),
  fc.constantFrom(8.64e12, 1e300, -1, 0, Number.MAX_SAFE_INTEGER, '1800000000', null),
  fc.double(),
);
const claims = fc.record(
  {
    sub: fc.oneof(
      fc.constantFrom(
        'spiffe://prod.example.org/ns/pay/sa/api',
        'spiffe://other.example.org/x',
        'spiffe://prod.example.org/',
        'system:serviceaccount:pay:api',
        'system:serviceaccount:pay:',
        'system:serviceaccount:Pay:api',
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    aud: fc.oneof(fc.constant(AUDIENCE), fc.constant([AUDIENCE, 'x']), fc.constant([]), fc.jsonValue({ maxDepth: 1 })),
    iss: fc.oneof(fc.constant(ISSUER), fc.string()),
    exp: time,
    nbf: time,
    iat: time,
    'kubernetes.io': fc.oneof(
      fc.constant({ namespace: 'pay', serviceaccount: { name: 'api', uid: 'u' }, pod: { name: 'p' } }),
      fc.constant({ namespace: 'pay', serviceaccount: 'api' }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: ['sub', 'aud', 'exp'] },
);
const header = fc.oneof(
  fc.constant({ alg: 'ES256', kid: 'k1', typ: 'JWT' }),
  fc.record(
    {
      alg: fc.constantFrom('ES256', 'RS256', 'none', 'HS256', 'ES512'),
      kid: fc.oneof(fc.constantFrom('k1', 'k2', ''), fc.jsonValue({ maxDepth: 1 })),
      typ: fc.constantFrom('JWT', 'JOSE', 'jwt', 'at+jwt'),
      crit: fc.constant(['exp']),
      jku: fc.constant('https://evil.example/jwks'),
    },
    { requiredKeys: [] },
  ),
);
/** Claims each authenticator accepts, so that a garbled copy of an acceptable token is tried too. */
const acceptable = fc.constantFrom(
  { sub: 'spiffe://prod.example.org/ns/pay/sa/api', aud: [AUDIENCE], exp: NOW + 600, iat: NOW },
  {
    sub: 'system:serviceaccount:pay:api',
    iss: ISSUER,
    aud: [AUDIENCE],
    exp: NOW + 600,
    'kubernetes.io': { namespace: 'pay', serviceaccount: { name: 'api' } },
  },
);
const signed = fc.oneof(
  fc.tuple(claims, header).map(([c, h]) => signToken(signer, c, h)),
  acceptable.map((c) => signToken(signer, c)),
);
const tokens = fc.oneof(
  signed,
  mutatedText(signed),
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })).map(([h, c]) => rawToken(h, c)),
  fc.string(),
);

describe('workload tokens, given any compact token', () => {
  for (const [name, authenticate] of [
    ['a JWT-SVID', (token: string) => spiffe.authenticate({ type: 'spiffe-jwt', token }, context)],
    ['a Kubernetes token', (token: string) => kubernetes.authenticate({ type: 'kubernetes', token }, context)],
  ] as const) {
    it(`as ${name}: accepted only when signed and every claim holds, else refused with a code`, async () => {
      await fuzzAsync(
        fc.asyncProperty(tokens, async (token) => {
          try {
            const identity = await authenticate(token);
            expect(identity.tags).toEqual(['tag:pay']);
            expect(identity.expiresAt).toBeGreaterThan(NOW_MS - 5_000);
            expect(Number.isNaN(new Date(identity.expiresAt!).getTime())).toBe(false);
          } catch (err) {
            expectCodedError(err);
            expect(['unauthenticated', 'forbidden']).toContain((err as { kind?: string }).kind);
          }
        }),
        { runs: 150 },
      );
    });
  }
});
