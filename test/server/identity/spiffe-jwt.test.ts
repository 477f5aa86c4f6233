import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControlError } from '../../../client/control/control-error.ts';
import type { Credential } from '../../../protocol/join.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import {
  authority,
  hmacToken,
  rawToken,
  signToken,
  spiffeBundle,
  type Authority,
} from '../../support/workload-tokens.ts';

const POLICY = `{
  "tagOwners": { "tag:payments": [], "tag:web": [] },
  "workloads": [ { "spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"] } ],
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;
const AUDIENCE = 'trellis-test';
const PROD = 'spiffe://prod.example.org/ns/payments/sa/api';

describe('SPIFFE JWT-SVID authentication', () => {
  let t: TestServer;
  let dir: string;
  let prod: Authority;
  let prodRsa: Authority;
  let x509Only: Authority;
  let other: Authority;
  const nowS = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({
    sub: PROD,
    aud: [AUDIENCE],
    exp: nowS() + 600,
    iat: nowS(),
    ...over,
  });
  const writeBundle = (name: string, keys: Array<Record<string, unknown>>) =>
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(spiffeBundle(keys)));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-spiffe-'));
    prod = authority('prod-1', 'ES256');
    prodRsa = authority('prod-rsa', 'RS256');
    x509Only = authority('prod-x509', 'ES256');
    other = authority('other-1', 'ES256');
    writeBundle('prod', [prod.jwk('jwt-svid'), prodRsa.jwk('jwt-svid'), x509Only.jwk('x509-svid')]);
    writeBundle('other', [other.jwk('jwt-svid')]);
    writeBundle('empty', []);
    t = await startTestServer({
      spiffe: {
        audience: AUDIENCE,
        leewaySeconds: 5,
        trustDomains: [
          { name: 'prod.example.org', bundleFile: join(dir, 'prod.json') },
          { name: 'other.example.org', bundleFile: join(dir, 'other.json') },
          { name: 'revoked.example.org', bundleFile: join(dir, 'empty.json') },
        ],
      },
    });
    await t.setPolicy(POLICY);
  });
  afterAll(async () => {
    await t.stop();
  });

  const register = (agent: TestAgent, credential: Credential, extra: { advertiseTags?: string[] } = {}) =>
    agent.control.register({ wireguardKey: agent.wireguard.publicKey, hostname: agent.hostname, credential, ...extra });
  const refusal = async (credential: Credential) => {
    const err = await register(new TestAgent(t.url, 'attacker'), credential).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    return err as ControlError;
  };
  const lastAudit = async () => (await t.server.store.audit.list({ limit: 1, kind: 'auth' }))[0]!;

  it('admits a valid JWT-SVID with exactly the tags the policy maps its ID to, ephemeral, expiring with the token', async () => {
    const exp = nowS() + 900;
    const agent = new TestAgent(t.url, 'payments-api');
    const node = await register(agent, { type: 'spiffe-jwt', token: signToken(prod, claims({ exp })) });
    expect(node.tags).toEqual(['tag:payments']);
    expect(node.user).toBeUndefined();
    const record = (await t.server.store.nodes.get(node.id))!;
    expect(record.ephemeral).toBe(true);
    expect(record.expiresAt).toBe(exp * 1000);
    expect(record.identity).toEqual({ method: 'spiffe-jwt', spiffeId: PROD, trustDomain: 'prod.example.org' });
    const [registered, auth] = await t.server.store.audit.list({ limit: 2 });
    expect(registered).toMatchObject({
      kind: 'node.register',
      outcome: 'success',
      method: 'spiffe-jwt',
      actor: PROD,
      nodeId: node.id,
      source: '127.0.0.1',
    });
    expect(auth).toMatchObject({ kind: 'auth', outcome: 'success', method: 'spiffe-jwt', identity: PROD });
  });

  it('accepts RS256, a typ of JOSE, no typ at all, and a single-string aud', async () => {
    for (const [a, header, aud] of [
      [prodRsa, { alg: 'RS256', kid: 'prod-rsa' }, AUDIENCE],
      [prod, { alg: 'ES256', kid: 'prod-1', typ: 'JOSE' }, [AUDIENCE, 'other']],
    ] as const) {
      const node = await register(new TestAgent(t.url, 'variant'), {
        type: 'spiffe-jwt',
        token: signToken(a, claims({ aud }), header),
      });
      expect(node.tags).toEqual(['tag:payments']);
    }
  });

  it('gives no tag beyond the mapping: advertising another one is refused', async () => {
    const err = await register(
      new TestAgent(t.url, 'greedy'),
      { type: 'spiffe-jwt', token: signToken(prod, claims()) },
      { advertiseTags: ['tag:web'] },
    ).catch((e: ControlError) => e);
    expect(err).toMatchObject({ code: 'tag.not_owner', status: 403 });
  });

  it('refuses a valid ID that the policy maps to no tags, saying how to fix it', async () => {
    const err = await refusal({
      type: 'spiffe-jwt',
      token: signToken(prod, claims({ sub: 'spiffe://prod.example.org/ns/billing/sa/x' })),
    });
    expect(err).toMatchObject({ code: 'workload.no_tags', status: 403 });
    expect(err.message).toContain('spiffe://prod.example.org/ns/billing/sa/x');
    expect(await lastAudit()).toMatchObject({ outcome: 'failure', code: 'workload.no_tags', method: 'spiffe-jwt' });
  });

  it('keeps identity and addresses when the workload presents a fresh token with the same machine key', async () => {
    const agent = new TestAgent(t.url, 'renewing');
    const first = await register(agent, { type: 'spiffe-jwt', token: signToken(prod, claims({ exp: nowS() + 300 })) });
    const later = nowS() + 1200;
    const again = await register(agent, { type: 'spiffe-jwt', token: signToken(prod, claims({ exp: later })) });
    expect(again.id).toBe(first.id);
    expect([again.ipv4, again.ipv6]).toEqual([first.ipv4, first.ipv6]);
    expect((await t.server.store.nodes.get(first.id))!.expiresAt).toBe(later * 1000);
  });

  describe('refuses hostile and malformed tokens, each with a clear error and an audit record', () => {
    const base = () => claims();
    const cases: Array<[string, () => string, string]> = [
      ['alg none without a signature', () => rawToken({ alg: 'none', typ: 'JWT' }, base(), ''), 'jwt.bad_alg'],
      ['alg none with a signature', () => rawToken({ alg: 'none' }, base()), 'jwt.bad_alg'],
      [
        'HS256 keyed with the public key',
        () => hmacToken(prod.publicPem, base(), { alg: 'HS256', kid: 'prod-1' }),
        'jwt.bad_alg',
      ],
      [
        'HS256 keyed with the public JWK',
        () => hmacToken(JSON.stringify(prod.jwk('jwt-svid')), base(), { alg: 'HS256' }),
        'jwt.bad_alg',
      ],
      ['EdDSA', () => rawToken({ alg: 'EdDSA', kid: 'prod-1' }, base()), 'jwt.bad_alg'],
      ['an unknown kid', () => signToken(prod, base(), { alg: 'ES256', kid: 'nobody' }), 'jwt.unknown_kid'],
      ['a key of another trust domain (its own kid)', () => signToken(other, base()), 'jwt.unknown_kid'],
      [
        'a key of another trust domain (a borrowed kid)',
        () => signToken(other, base(), { alg: 'ES256', kid: 'prod-1' }),
        'jwt.bad_signature',
      ],
      ['an x509-svid key of the right domain', () => signToken(x509Only, base()), 'jwt.unknown_kid'],
      [
        'an algorithm the named key cannot do',
        () => signToken(prod, base(), { alg: 'RS256', kid: 'prod-1' }),
        'jwt.key_mismatch',
      ],
      [
        'a tampered payload',
        () => {
          const [h, , s] = signToken(prod, base()).split('.');
          return `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'spiffe://prod.example.org/ns/payments/sa/admin' }))).toString('base64url')}.${s}`;
        },
        'jwt.bad_signature',
      ],
      [
        'an extra header field (jku)',
        () => signToken(prod, base(), { alg: 'ES256', kid: 'prod-1', jku: 'https://evil.example/jwks' }),
        'jwt.header_field',
      ],
      [
        'an embedded jwk header',
        () => signToken(prod, base(), { alg: 'ES256', kid: 'prod-1', jwk: prod.jwk() }),
        'jwt.header_field',
      ],
      [
        'a crit header',
        () => signToken(prod, base(), { alg: 'ES256', kid: 'prod-1', crit: ['exp'] }),
        'jwt.header_field',
      ],
      [
        'a typ other than JWT or JOSE',
        () => signToken(prod, base(), { alg: 'ES256', kid: 'prod-1', typ: 'at+jwt' }),
        'jwt.bad_typ',
      ],
      ['an expired token', () => signToken(prod, claims({ exp: nowS() - 60 })), 'jwt.expired'],
      ['no exp', () => signToken(prod, { sub: PROD, aud: AUDIENCE }), 'jwt.missing_exp'],
      ['a token not yet valid (nbf)', () => signToken(prod, claims({ nbf: nowS() + 600 })), 'jwt.not_yet_valid'],
      ['a token issued in the future (iat)', () => signToken(prod, claims({ iat: nowS() + 600 })), 'jwt.not_yet_valid'],
      ['a wrong aud', () => signToken(prod, claims({ aud: ['someone-else'] })), 'jwt.wrong_audience'],
      ['no aud', () => signToken(prod, { sub: PROD, exp: nowS() + 600 }), 'jwt.missing_audience'],
      ['an empty aud list', () => signToken(prod, claims({ aud: [] })), 'jwt.bad_claim'],
      ['no sub', () => signToken(prod, { aud: AUDIENCE, exp: nowS() + 600 }), 'spiffe.missing_sub'],
      ['a sub that is not a SPIFFE ID', () => signToken(prod, claims({ sub: 'payments-api' })), 'spiffe.bad_id'],
      [
        'a sub with a dot-dot segment',
        () => signToken(prod, claims({ sub: 'spiffe://prod.example.org/ns/payments/../admin' })),
        'spiffe.bad_id',
      ],
      [
        'a sub from an unconfigured trust domain',
        () => signToken(prod, claims({ sub: 'spiffe://evil.example.org/ns/payments/sa/api' })),
        'spiffe.unknown_trust_domain',
      ],
      [
        'a sub from a trust domain whose bundle is empty',
        () => signToken(prod, claims({ sub: 'spiffe://revoked.example.org/x' })),
        'spiffe.bundle_empty',
      ],
      ['an oversized token', () => signToken(prod, claims({ pad: 'x'.repeat(9000) })), 'jwt.too_large'],
      ['a JWE (five parts)', () => 'a.b.c.d.e', 'jwt.not_jws'],
      ['two parts', () => 'eyJhbGciOiJFUzI1NiJ9.e30', 'jwt.malformed'],
      ['non-base64url characters', () => 'eyJh+GciOiJFUzI1NiJ9.e30.c2ln', 'jwt.malformed'],
      [
        'a valid signature respelled with unused trailing bits set',
        () => {
          const [h, p, s] = signToken(prod, base()).split('.') as [string, string, string];
          const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
          // 64 bytes of ES256 signature leave 4 unused bits in the last digit.
          return `${h}.${p}.${s.slice(0, -1)}${digits[digits.indexOf(s.at(-1)!) ^ 1]}`;
        },
        'jwt.malformed',
      ],
      ['a header that is not JSON', () => `${Buffer.from('{alg').toString('base64url')}.e30.c2ln`, 'jwt.malformed'],
      ['a header that is a JSON array', () => rawToken(['ES256'], base()), 'jwt.malformed'],
      ['a payload that is a JSON string', () => rawToken({ alg: 'ES256', kid: 'prod-1' }, '"hi"'), 'jwt.malformed'],
      ['a numeric alg', () => rawToken({ alg: 256, kid: 'prod-1' }, base()), 'jwt.bad_alg'],
      ['a numeric kid', () => rawToken({ alg: 'ES256', kid: 1 }, base()), 'jwt.malformed'],
      ['a numeric sub', () => signToken(prod, claims({ sub: 12 })), 'spiffe.bad_id'],
      ['a numeric aud', () => signToken(prod, claims({ aud: 5 })), 'jwt.bad_claim'],
      ['a string exp', () => signToken(prod, claims({ exp: 'tomorrow' })), 'jwt.bad_claim'],
      ['a null nbf', () => signToken(prod, claims({ nbf: null })), 'jwt.bad_claim'],
    ];

    it.each(cases)('%s', async (_what, make, code) => {
      const err = await refusal({ type: 'spiffe-jwt', token: make() });
      expect(err.code).toBe(code);
      expect(err.status).toBe(401);
      expect(err.message).toMatch(/\S/);
      expect(err.message).not.toContain(prod.publicPem.slice(30, 60));
      const audit = await lastAudit();
      expect(audit).toMatchObject({
        kind: 'auth',
        outcome: 'failure',
        method: 'spiffe-jwt',
        code,
        source: '127.0.0.1',
      });
    });

    it('refuses a correctly signed token whose times lie beyond what can be stored, writing nothing', async () => {
      // 8.64e12 s is the last second JavaScript dates can hold; 1e13 is past it, 3e11 past year 9999.
      const beyond = [1e13, 3e11, 8.64e12, Number.MAX_SAFE_INTEGER];
      for (const [claim, value] of beyond.flatMap((v) => [
        ['exp', v] as const,
        ['nbf', -v] as const,
        ['iat', -v] as const,
      ])) {
        const nodesBefore = (await t.server.store.nodes.list()).length;
        const err = await refusal({ type: 'spiffe-jwt', token: signToken(prod, claims({ [claim]: value })) });
        expect(err, `${claim} ${value}`).toMatchObject({ status: 401, code: 'jwt.bad_claim' });
        expect(err.message).toContain(`"${claim}"`);
        expect((await t.server.store.nodes.list()).length).toBe(nodesBefore);
      }
      // And the admin node list still answers.
      expect((await t.admin('GET', '/api/v1/nodes')).status).toBe(200);
    });

    it('refuses a token larger than the body schema allows before reading it', async () => {
      const err = await refusal({ type: 'spiffe-jwt', token: 'x'.repeat(70_000) });
      expect(err).toMatchObject({ status: 400, code: 'request.invalid_field' });
    });
  });

  describe('bundle changes take effect without a restart', () => {
    beforeEach(() => writeBundle('prod', [prod.jwk('jwt-svid'), prodRsa.jwk('jwt-svid'), x509Only.jwk('x509-svid')]));

    it('an emptied bundle revokes every token of the trust domain; a restored one admits again', async () => {
      const token = signToken(prod, claims());
      writeBundle('prod', []);
      expect((await refusal({ type: 'spiffe-jwt', token })).code).toBe('spiffe.bundle_empty');
      writeBundle('prod', [prod.jwk('jwt-svid')]);
      const node = await register(new TestAgent(t.url, 'restored'), { type: 'spiffe-jwt', token });
      expect(node.tags).toEqual(['tag:payments']);
    });

    it('a key removed from the bundle stops verifying at once', async () => {
      writeBundle('prod', [prodRsa.jwk('jwt-svid')]);
      expect((await refusal({ type: 'spiffe-jwt', token: signToken(prod, claims()) })).code).toBe('jwt.unknown_kid');
    });
  });
});
