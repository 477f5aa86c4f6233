import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { b64url } from '../../../protocol/proof.ts';
import { MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../../protocol/version.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { ServerConfig } from '../../../server/config/schema.ts';
import { issueSecret } from '../../../server/identity/secrets.ts';
import { createLogger } from '../../../server/observability/logger.ts';
import {
  LOW_ORDER_X25519,
  NON_CANONICAL_LOW_ORDER_X25519,
  SMALL_ORDER_ED25519,
  machineKeyUsableAsWireGuardKey,
  respelled,
} from '../../support/keys.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import {
  INTERNALS,
  answersSeen,
  expectRefused,
  newMachine,
  proofFor,
  registerBody,
  send,
  sendFrom,
  signed,
  type Machine,
} from './requests.ts';

const REGISTER = '/api/v1/machine/register';
const ROTATE = '/api/v1/machine/rotate-key';
const MAX_BODY = 16 * 1024;

/**
 * Every bad input answers 4xx with {code, message} naming the problem and changes nothing;
 * the server neither crashes nor shows its insides.
 */
describe('bad input at the HTTP edge', () => {
  let ts: TestServer;
  let url: string;
  let aliceKey: string;

  /** What a refused request must leave as it was. */
  async function snapshot() {
    const s = ts.server.store;
    return {
      nodes: (await s.nodes.list())
        .map((n) => `${n.id}:${n.name}:${n.wireguardKey}:${n.endpoints.join(',')}:${n.expiresAt ?? ''}`)
        .sort(),
      keys: (await s.preAuthKeys.list()).map((k) => `${k.id}:${k.usedCount}:${k.revokedAt ?? ''}`).sort(),
      users: (await s.users.list()).map((u) => u.id).sort(),
      apiKeys: (await s.apiKeys.list()).map((k) => `${k.id}:${k.revokedAt ?? ''}`).sort(),
      policy: (await s.policies.current())?.version,
    };
  }
  /** Runs the refused request and checks that nothing changed. */
  async function unchanged<T>(act: () => Promise<T>): Promise<T> {
    const before = await snapshot();
    const result = await act();
    expect(await snapshot()).toEqual(before);
    return result;
  }

  beforeAll(async () => {
    ts = await startTestServer({ limits: { maxBodyBytes: MAX_BODY, authPerMinute: 10_000 } });
    url = ts.url;
    aliceKey = await ts.preAuthKey({ user: 'alice@example.com', reusable: true });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  describe('malformed bodies', () => {
    it('malformed JSON: 400 request.bad_json', async () => {
      const m = newMachine();
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, '{"protocolVersion": 1,'));
      const body = expectRefused(a, 400, 'request.bad_json');
      expect(body.where).toBe('body');
      expect(body.message).toContain('not valid JSON');
    });

    it('no body where one is needed: 400 request.missing_body', async () => {
      const a = await unchanged(() => signed(url, newMachine(), 'POST', REGISTER));
      expectRefused(a, 400, 'request.missing_body');
    });

    it('a body that is not an object: 400 naming the body', async () => {
      for (const text of ['null', '[]', '"register me"', '42']) {
        const a = await unchanged(() => signed(url, newMachine(), 'POST', REGISTER, text));
        const body = expectRefused(a, 400, 'request.invalid_field');
        expect(body.where).toBe('body');
      }
    });

    it('an unknown field: 400 request.unknown_field naming it', async () => {
      const m = newMachine();
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { isAdmin: true })));
      const body = expectRefused(a, 400, 'request.unknown_field');
      expect(body.where).toBe('body');
      expect(body.message).toContain('"isAdmin"');
    });

    it('an unknown nested field: 400 naming its place', async () => {
      const m = newMachine();
      const a = await unchanged(() =>
        signed(
          url,
          m,
          'POST',
          REGISTER,
          registerBody(m, aliceKey, { credential: { type: 'preauth-key', key: aliceKey, user: 'root' } }),
        ),
      );
      const body = expectRefused(a, 400, 'request.unknown_field');
      expect(body.where).toBe('body.credential');
      expect(body.message).toContain('"user"');
    });

    it('a __proto__ key is just an unknown field', async () => {
      const m = newMachine();
      const text = JSON.stringify(registerBody(m, aliceKey)).replace(/^\{/, '{"__proto__": {"polluted": true},');
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, text));
      expectRefused(a, 400, 'request.unknown_field');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    const wrongTypes: Array<[string, Record<string, unknown>, string]> = [
      ['protocolVersion as a string', { protocolVersion: '1' }, 'body.protocolVersion'],
      ['protocolVersion as a fraction', { protocolVersion: 1.5 }, 'body.protocolVersion'],
      ['hostname as a number', { hostname: 5 }, 'body.hostname'],
      ['an empty hostname', { hostname: '' }, 'body.hostname'],
      ['a huge hostname', { hostname: 'h'.repeat(300) }, 'body.hostname'],
      ['advertiseRoutes as a string', { advertiseRoutes: '10.0.0.0/8' }, 'body.advertiseRoutes'],
      ['a route that is a number', { advertiseRoutes: [10] }, 'body.advertiseRoutes.0'],
      ['credential as a string', { credential: 'trellis-auth-x' }, 'body.credential'],
      ['an unknown credential type', { credential: { type: 'password', key: 'hunter2' } }, 'body.credential.type'],
    ];
    for (const [what, change, where] of wrongTypes) {
      it(`wrong type or shape: ${what} (400 request.invalid_field at ${where})`, async () => {
        const m = newMachine();
        const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, change)));
        const body = expectRefused(a, 400, 'request.invalid_field');
        expect(body.where).toBe(where);
        expect(body.message.startsWith(`${where}: `)).toBe(true);
      });
    }

    it('a route that is not a CIDR: 400 route.malformed naming it', async () => {
      const m = newMachine();
      const a = await unchanged(() =>
        signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { advertiseRoutes: ['10.0.0.0/8', '10.1.0.0/99'] })),
      );
      const body = expectRefused(a, 400, 'route.malformed');
      expect(body.where).toBe('body.advertiseRoutes.1');
      expect(body.message).toContain('10.1.0.0/99');
    });

    it.each([PROTOCOL_VERSION + 1, 2 ** 40])(
      'a protocol version the server does not speak (%s): 400 protocol.unsupported_version naming the ones it does',
      async (protocolVersion) => {
        const m = newMachine();
        const a = await unchanged(() =>
          signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { protocolVersion })),
        );
        const body = expectRefused(a, 400, 'protocol.unsupported_version');
        expect(body.where).toBe('body.protocolVersion');
        expect(body.message).toContain(`speaks versions ${MIN_SUPPORTED_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`);
        expect(body.message).toContain('upgrade the server');
      },
    );

    it('an agent of the oldest protocol version the server still speaks joins', async () => {
      const m = newMachine();
      const body = registerBody(m, aliceKey, { protocolVersion: MIN_SUPPORTED_PROTOCOL_VERSION });
      const a = await signed(url, m, 'POST', REGISTER, body);
      expect(a.status, a.text).toBe(200);
    });

    it('an oversized body (with a length): 413 request.too_large', async () => {
      const m = newMachine();
      const big = JSON.stringify(registerBody(m, aliceKey, { os: 'x'.repeat(MAX_BODY) }));
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, big));
      const body = expectRefused(a, 413, 'request.too_large');
      expect(body.message).toContain(String(MAX_BODY));
    });

    it('an oversized body sent in chunks without a length: 413 request.too_large', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(4096));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const before = await snapshot();
      const res = await fetch(url + '/api/v1/users', {
        method: 'POST',
        headers: { authorization: `Bearer ${ts.adminKey}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const text = await res.text();
      expect(res.status, text).toBe(413);
      expect(JSON.parse(text).code).toBe('request.too_large');
      expect(await snapshot()).toEqual(before);
    });

    it('very deeply nested JSON is refused, not a crash', async () => {
      const deep = '['.repeat(8000) + ']'.repeat(8000);
      const a = await unchanged(() =>
        send(url, 'POST', '/api/v1/users', {
          headers: { authorization: `Bearer ${ts.adminKey}`, 'content-type': 'application/json' },
          body: deep,
        }),
      );
      expect(a.status).toBe(400);
      expect(['request.bad_json', 'request.invalid_field']).toContain(a.json.code);
    });
  });

  describe('invalid keys', () => {
    const badKeys = [
      '',
      'abc',
      'A'.repeat(44),
      `${'A'.repeat(43)}`,
      `${'A'.repeat(42)}==`,
      `${'-'.repeat(43)}=`,
      `${'A'.repeat(44)}=`,
    ];
    for (const bad of badKeys) {
      it(`a WireGuard key ${JSON.stringify(bad.length > 12 ? bad.slice(0, 6) + '…' + bad.slice(-3) : bad)}: 400 at body.wireguardKey`, async () => {
        const m = newMachine();
        const a = await unchanged(() =>
          signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey: bad })),
        );
        const body = expectRefused(a, 400, 'request.invalid_field');
        expect(body.where).toBe('body.wireguardKey');
        expect(body.message).toContain('base64');
      });
    }

    it('a malformed machine key in the body: 400 at body.machineKey', async () => {
      const m = newMachine();
      const a = await unchanged(() =>
        signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { machineKey: 'not-a-key' })),
      );
      expect(expectRefused(a, 400, 'request.invalid_field').where).toBe('body.machineKey');
    });

    it('the machine key reused as the WireGuard key: 400 node.keys_same', async () => {
      const m = { ...newMachine(), machine: machineKeyUsableAsWireGuardKey() };
      const a = await unchanged(() =>
        signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey: m.machine.publicKey })),
      );
      expect(expectRefused(a, 400, 'node.keys_same').where).toBe('body.wireguardKey');
    });

    for (const [i, key] of LOW_ORDER_X25519.entries()) {
      it(`low-order WireGuard key #${i + 1} of ${LOW_ORDER_X25519.length}: 400 key.low_order at body.wireguardKey`, async () => {
        const m = newMachine();
        const a = await unchanged(() =>
          signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey: key })),
        );
        const body = expectRefused(a, 400, 'key.low_order');
        expect(body.where).toBe('body.wireguardKey');
        expect(body.message).toContain('all-zero shared secret');
      });
    }

    it('the other spellings of low-order WireGuard keys (u >= p, the top bit set): 400 key.not_canonical', async () => {
      for (const key of NON_CANONICAL_LOW_ORDER_X25519) {
        const m = newMachine();
        const a = await unchanged(() =>
          signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey: key })),
        );
        expect(expectRefused(a, 400, 'key.not_canonical').where, key).toBe('body.wireguardKey');
      }
    });

    it('a WireGuard key on the twist, or with a small-order component: 400 naming which', async () => {
      const twist = Buffer.alloc(32);
      twist[0] = 2; // u = 2 is on the twist of Curve25519
      const torsion = ed25519.Point.fromBytes(Buffer.from(SMALL_ORDER_ED25519[3]!, 'base64'));
      const mixed = ed25519.utils.toMontgomery(ed25519.Point.BASE.multiply(7n).add(torsion).toBytes());
      for (const [key, code] of [
        [twist, 'key.not_on_curve'],
        [mixed, 'key.not_prime_order'],
      ] as const) {
        const m = newMachine();
        const wireguardKey = Buffer.from(key).toString('base64');
        const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey })));
        expect(expectRefused(a, 400, code).where).toBe('body.wireguardKey');
      }
    });

    it("another node's WireGuard key in another base64 spelling: 400 key.not_canonical, nothing changes", async () => {
      const first = new TestAgent(url, 'spelled');
      await first.join(aliceKey);
      const m = newMachine();
      const wireguardKey = respelled(first.wireguard.publicKey);
      expect(Buffer.from(wireguardKey, 'base64')).toEqual(Buffer.from(first.wireguard.publicKey, 'base64'));
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey })));
      const body = expectRefused(a, 400, 'key.not_canonical');
      expect(body.where).toBe('body.wireguardKey');
      expect(body.message).toContain('canonical base64');
      // Nor at key rotation: the other node's key stays that node's alone.
      const b = new TestAgent(url, 'rotating');
      await b.join(aliceKey);
      const machine = { machine: b.machine, wireguard: b.wireguard };
      const r = await unchanged(() => signed(url, machine, 'POST', ROTATE, { wireguardKey }));
      expect(expectRefused(r, 400, 'key.not_canonical').where).toBe('body.wireguardKey');
    });

    it('rotating to a low-order WireGuard key: 400 key.low_order, the node keeps its key', async () => {
      const agent = new TestAgent(url, 'rotator');
      await agent.join(aliceKey);
      const machine = { machine: agent.machine, wireguard: agent.wireguard };
      for (const wireguardKey of [...LOW_ORDER_X25519, ...NON_CANONICAL_LOW_ORDER_X25519]) {
        const a = await unchanged(() => signed(url, machine, 'POST', ROTATE, { wireguardKey }));
        expect(a.status, a.text).toBe(400);
        expect(['key.low_order', 'key.not_canonical']).toContain(a.json.code);
        expect(a.json.where).toBe('body.wireguardKey');
      }
    });

    it('a small-order machine key with the signature that verifies for every message: 401 proof.bad_key, nothing written', async () => {
      for (const machineKey of SMALL_ORDER_ED25519) {
        const key = Buffer.from(machineKey, 'base64');
        // R = the identity and S = 0 satisfy [S]B = R + [k]A for A of small order, whatever k is.
        const identity = Buffer.from(SMALL_ORDER_ED25519[0]!, 'base64');
        const anything = b64url(Buffer.concat([identity, Buffer.alloc(32)]));
        const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
        const authorization = `Trellis-Proof v1.${b64url(key)}.${Date.now()}.${nonce}.${anything}`;
        const m = newMachine();
        const a = await unchanged(() =>
          signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { machineKey }), { authorization }),
        );
        expect(expectRefused(a, 401, 'proof.bad_key').message).toContain('small-order');
      }
    });

    it('a machine key in the body that is no full-order point: 400 at body.machineKey', async () => {
      const m = newMachine();
      for (const machineKey of [SMALL_ORDER_ED25519[0]!, respelled(m.machine.publicKey)]) {
        const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { machineKey })));
        expect(a.status, a.text).toBe(400);
        expect(['key.low_order', 'key.not_canonical']).toContain(a.json.code);
        expect(a.json.where).toBe('body.machineKey');
      }
    });

    it("another node's WireGuard key: 409, nothing changes", async () => {
      const first = new TestAgent(url, 'first');
      await first.join(aliceKey);
      const m = newMachine();
      const a = await unchanged(() =>
        signed(url, m, 'POST', REGISTER, registerBody(m, aliceKey, { wireguardKey: first.wireguard.publicKey })),
      );
      const body = expectRefused(a, 409, 'node.wireguard_key_taken');
      expect(body.message).toContain('wireguard key');
    });
  });

  describe('pre-auth keys that cannot be used', () => {
    async function refusedJoin(key: string, code: string) {
      const m = newMachine();
      const a = await unchanged(() => signed(url, m, 'POST', REGISTER, registerBody(m, key)));
      const body = expectRefused(a, 401, code);
      expect(body.where).toBe('body.credential.key');
      expect(body.message).toContain('pre-auth key');
      return body;
    }

    it('expired: 401 preauth_key.expired, saying when', async () => {
      const { id, secret, secretHash } = issueSecret('auth');
      const past = Date.now() - 60_000;
      await ts.server.store.preAuthKeys.create({
        id,
        secretHash,
        reusable: true,
        ephemeral: false,
        tags: ['tag:ci'],
        usedCount: 0,
        expiresAt: past,
        description: '',
        createdAt: past - 3_600_000,
      });
      const body = await refusedJoin(secret, 'preauth_key.expired');
      expect(body.message).toContain(new Date(past).toISOString());
    });

    it('used up: 401 preauth_key.used', async () => {
      const once = await ts.preAuthKey({ user: 'bob@example.com' });
      await new TestAgent(url, 'bob-laptop').join(once);
      await refusedJoin(once, 'preauth_key.used');
    });

    it('revoked: 401 preauth_key.revoked', async () => {
      const key = await ts.preAuthKey({ user: 'carol@example.com', reusable: true });
      const { json } = await send(url, 'GET', '/api/v1/preauth-keys', {
        headers: { authorization: `Bearer ${ts.adminKey}` },
      });
      const id = key.split('-')[2]!;
      expect(json.items.map((k: { id: string }) => k.id)).toContain(id);
      expect((await ts.admin('DELETE', `/api/v1/preauth-keys/${id}`)).status).toBe(204);
      await refusedJoin(key, 'preauth_key.revoked');
    });

    it('unknown: 401 preauth_key.unknown (a made-up key, or a real id with the wrong secret)', async () => {
      await refusedJoin(issueSecret('auth').secret, 'preauth_key.unknown');
      const [prefix, kind, id] = aliceKey.split('-');
      await refusedJoin(`${prefix}-${kind}-${id}-${'Z'.repeat(43)}`, 'preauth_key.unknown');
    });

    it('malformed: 401 preauth_key.malformed', async () => {
      await refusedJoin('hunter2', 'preauth_key.malformed');
      await refusedJoin(issueSecret('api').secret, 'preauth_key.malformed');
    });

    it('a single-use key raced by two machines: exactly one joins', async () => {
      const once = await ts.preAuthKey({ user: 'dave@example.com' });
      const before = (await ts.server.store.nodes.list()).length;
      const machines = [newMachine(), newMachine(), newMachine()];
      const answers = await Promise.all(machines.map((m) => signed(url, m, 'POST', REGISTER, registerBody(m, once))));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 200)) {
        expect([401, 409]).toContain(a.status);
        expect(['preauth_key.used', 'preauth_key.unusable']).toContain(a.json.code);
      }
      expect((await ts.server.store.nodes.list()).length).toBe(before + 1);
    });
  });

  describe('machine-key proofs', () => {
    let agent: TestAgent;
    let agentMachine: Machine;
    beforeAll(async () => {
      agent = new TestAgent(url, 'prover');
      await agent.join(aliceKey);
      agentMachine = { machine: agent.machine, wireguard: agent.wireguard };
    });
    const update = { endpoints: ['192.0.2.10:41641'] };

    it('missing: 401 proof.missing', async () => {
      const a = await unchanged(() =>
        send(url, 'POST', '/api/v1/machine/update', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(update),
        }),
      );
      expect(expectRefused(a, 401, 'proof.missing').message).toContain('Trellis-Proof');
      const r = await unchanged(() =>
        send(url, 'POST', REGISTER, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(registerBody(newMachine(), aliceKey)),
        }),
      );
      expectRefused(r, 401, 'proof.missing');
    });

    it('malformed: 401 proof.malformed', async () => {
      for (const authorization of [
        'Bearer abc',
        'Trellis-Proof v1.a.b.c',
        `Trellis-Proof v1.${'A'.repeat(43)}.1.x.y`,
      ]) {
        const a = await unchanged(() =>
          signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { authorization }),
        );
        expectRefused(a, 401, 'proof.malformed');
      }
    });

    it('stale: 401 proof.stale, in either direction', async () => {
      const old = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { nowMs: Date.now() - 5 * 60_000 }),
      );
      expect(expectRefused(old, 401, 'proof.stale').message).toContain('clock');
      const future = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { nowMs: Date.now() + 5 * 60_000 }),
      );
      expectRefused(future, 401, 'proof.stale');
    });

    it('forged: 401 proof.bad_signature', async () => {
      const genuine = proofFor(agentMachine, 'POST', '/api/v1/machine/update', JSON.stringify(update));
      const parts = genuine.split('.');
      parts[4] = b64url(crypto.getRandomValues(new Uint8Array(64)));
      const a = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { authorization: parts.join('.') }),
      );
      expectRefused(a, 401, 'proof.bad_signature');
    });

    it('signed for another request (path, or body): 401 proof.bad_signature', async () => {
      const forSelf = proofFor(agentMachine, 'GET', '/api/v1/machine/self');
      const a = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { authorization: forSelf }),
      );
      expectRefused(a, 401, 'proof.bad_signature');
      const forOtherBody = proofFor(agentMachine, 'POST', '/api/v1/machine/update', JSON.stringify({ endpoints: [] }));
      const b = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', update, { authorization: forOtherBody }),
      );
      expectRefused(b, 401, 'proof.bad_signature');
    });

    it("claiming another node's machine key: 401 proof.bad_signature", async () => {
      const mallory = newMachine();
      const own = proofFor(mallory, 'POST', '/api/v1/machine/logout');
      const parts = own.split('.');
      parts[1] = b64url(Buffer.from(agent.machine.publicKey, 'base64'));
      const a = await unchanged(() =>
        signed(url, mallory, 'POST', '/api/v1/machine/logout', undefined, { authorization: parts.join('.') }),
      );
      expectRefused(a, 401, 'proof.bad_signature');
    });

    it('registering a machine key other than the one that signed: 403 proof.key_mismatch', async () => {
      const signer = newMachine();
      const victim = newMachine();
      const body = registerBody(victim, aliceKey);
      const a = await unchanged(() => signed(url, signer, 'POST', REGISTER, body));
      const err = expectRefused(a, 403, 'proof.key_mismatch');
      expect(err.message).toContain('machine key');
    });

    it('a valid proof from a machine that is not registered: 401 node.unknown', async () => {
      const a = await unchanged(() => signed(url, newMachine(), 'GET', '/api/v1/machine/self'));
      expectRefused(a, 401, 'node.unknown');
    });

    it('replayed: the second use of a proof is 401 proof.replayed', async () => {
      const text = JSON.stringify({ endpoints: ['192.0.2.11:41641'] });
      const authorization = proofFor(agentMachine, 'POST', '/api/v1/machine/update', text);
      const first = await signed(url, agentMachine, 'POST', '/api/v1/machine/update', text, { authorization });
      expect(first.status, first.text).toBe(200);
      const again = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', text, { authorization }),
      );
      expectRefused(again, 401, 'proof.replayed');
    });

    it('a replayed registration creates nothing', async () => {
      const m = newMachine();
      const text = JSON.stringify(registerBody(m, aliceKey));
      const authorization = proofFor(m, 'POST', REGISTER, text);
      expect((await signed(url, m, 'POST', REGISTER, text, { authorization })).status).toBe(200);
      const again = await unchanged(() => signed(url, m, 'POST', REGISTER, text, { authorization }));
      expectRefused(again, 401, 'proof.replayed');
    });

    it('a bad endpoint in an update: 400 endpoint.malformed naming it', async () => {
      const a = await unchanged(() =>
        signed(url, agentMachine, 'POST', '/api/v1/machine/update', { endpoints: ['192.0.2.1:99999'] }),
      );
      const body = expectRefused(a, 400, 'endpoint.malformed');
      expect(body.where).toBe('body.endpoints');
      expect(body.message).toContain('192.0.2.1:99999');
    });
  });

  describe('the map stream upgrade', () => {
    function upgrade(
      path: string,
      headers: Record<string, string>,
    ): Promise<{ status: number; body: any; opened: boolean }> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url.replace('http', 'ws') + path, { headers, perMessageDeflate: false });
        ws.on('open', () => {
          ws.close();
          resolve({ status: 101, body: undefined, opened: true });
        });
        ws.on('unexpected-response', (_req, res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            answersSeen.push({ status: res.statusCode ?? 0, headers: new Headers(), text, json: undefined });
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, opened: false });
          });
        });
        ws.on('error', reject);
      });
    }

    it('without a proof: 401 proof.missing', async () => {
      const r = await upgrade('/api/v1/machine/map', {});
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('proof.missing');
    });

    it('with a proof for another query: 401 proof.bad_signature', async () => {
      const agent = new TestAgent(url, 'streamer');
      await agent.join(aliceKey);
      const m = { machine: agent.machine, wireguard: agent.wireguard };
      const r = await upgrade('/api/v1/machine/map?since=5', {
        authorization: proofFor(m, 'GET', '/api/v1/machine/map'),
      });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('proof.bad_signature');
    });

    it('with a bad since: 400 naming query.since', async () => {
      const agent = new TestAgent(url, 'streamer2');
      await agent.join(aliceKey);
      const m = { machine: agent.machine, wireguard: agent.wireguard };
      const path = '/api/v1/machine/map?since=yesterday';
      const r = await upgrade(path, { authorization: proofFor(m, 'GET', path) });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('request.invalid_field');
      expect(r.body.message).toContain('query.since');
    });

    it('a bad message on an open stream gets a goodbye and a close, not a crash', async () => {
      const agent = new TestAgent(url, 'chatter');
      await agent.join(aliceKey);
      const m = { machine: agent.machine, wireguard: agent.wireguard };
      const path = '/api/v1/machine/map';
      const ws = new WebSocket(url.replace('http', 'ws') + path, {
        headers: { authorization: proofFor(m, 'GET', path) },
      });
      const messages: any[] = [];
      ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => resolve());
        ws.on('error', reject);
      });
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.send('{"type": "shutdown"}');
      expect(await closed).toBe(4004);
      expect(messages.find((msg) => msg.type === 'goodbye')?.code).toBe('stream.bad_message');
    });
  });

  describe('API keys', () => {
    const withKey = (key: string | undefined, method: string, path: string, body?: unknown) =>
      send(url, method, path, {
        headers: {
          ...(key !== undefined && { authorization: key }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const newUser = { email: 'mallory@example.com' };

    it('missing: 401 api_key.missing', async () => {
      expectRefused(
        await unchanged(() => withKey(undefined, 'POST', '/api/v1/users', newUser)),
        401,
        'api_key.missing',
      );
      expectRefused(
        await unchanged(() => withKey('Basic YWRtaW46YWRtaW4=', 'POST', '/api/v1/users', newUser)),
        401,
        'api_key.missing',
      );
    });

    it('malformed: 401 api_key.malformed', async () => {
      expectRefused(
        await unchanged(() => withKey('Bearer letmein', 'POST', '/api/v1/users', newUser)),
        401,
        'api_key.malformed',
      );
    });

    it('wrong: 401 api_key.unknown', async () => {
      expectRefused(
        await unchanged(() => withKey(`Bearer ${issueSecret('api').secret}`, 'POST', '/api/v1/users', newUser)),
        401,
        'api_key.unknown',
      );
      const [p, k, id] = ts.adminKey.split('-');
      const guessed = `Bearer ${p}-${k}-${id}-${'A'.repeat(43)}`;
      expectRefused(await unchanged(() => withKey(guessed, 'POST', '/api/v1/users', newUser)), 401, 'api_key.unknown');
    });

    it('a pre-auth key is not an API key: 401 api_key.malformed', async () => {
      expectRefused(
        await unchanged(() => withKey(`Bearer ${aliceKey}`, 'GET', '/api/v1/nodes')),
        401,
        'api_key.malformed',
      );
    });

    it('missing scope: 403 api_key.scope naming the scope', async () => {
      const issued = await ts.admin<{ secret: string }>('POST', '/api/v1/api-keys', { scopes: ['read'] });
      const agent = new TestAgent(url, 'scoped');
      const node = await agent.join(aliceKey);
      const a = await unchanged(() => withKey(`Bearer ${issued.body.secret}`, 'DELETE', `/api/v1/nodes/${node.id}`));
      const body = expectRefused(a, 403, 'api_key.scope');
      expect(body.message).toContain('"nodes"');
      const b = await unchanged(() =>
        withKey(`Bearer ${issued.body.secret}`, 'POST', '/api/v1/api-keys', { scopes: ['admin'] }),
      );
      expect(expectRefused(b, 403, 'api_key.scope').message).toContain('"admin"');
    });

    it('revoked: 401 api_key.revoked', async () => {
      const issued = await ts.admin<{ secret: string; key: { id: string } }>('POST', '/api/v1/api-keys', {
        scopes: ['users'],
      });
      expect((await ts.admin('DELETE', `/api/v1/api-keys/${issued.body.key.id}`)).status).toBe(204);
      const a = await unchanged(() => withKey(`Bearer ${issued.body.secret}`, 'POST', '/api/v1/users', newUser));
      expectRefused(a, 401, 'api_key.revoked');
    });

    it('expired: 401 api_key.expired', async () => {
      const { id, secret, secretHash } = issueSecret('api');
      await ts.server.store.apiKeys.create({
        id,
        secretHash,
        scopes: ['admin'],
        description: '',
        expiresAt: Date.now() - 1000,
        createdAt: Date.now() - 100_000,
      });
      expectRefused(
        await unchanged(() => withKey(`Bearer ${secret}`, 'POST', '/api/v1/users', newUser)),
        401,
        'api_key.expired',
      );
    });
  });

  describe('admin bodies and parameters', () => {
    const cases: Array<[string, string, string, unknown, number, string, string | undefined]> = [
      [
        'a user with a bad email',
        'POST',
        '/api/v1/users',
        { email: 'not-an-email' },
        400,
        'request.invalid_field',
        'body.email',
      ],
      [
        'a user with an unknown field',
        'POST',
        '/api/v1/users',
        { email: 'x@example.com', admin: true },
        400,
        'request.unknown_field',
        'body',
      ],
      [
        'groups that are not a list',
        'POST',
        '/api/v1/users',
        { email: 'x@example.com', groups: 'eng' },
        400,
        'request.invalid_field',
        'body.groups',
      ],
      ['a pre-auth key with no owner', 'POST', '/api/v1/preauth-keys', {}, 400, 'preauth_key.no_owner', 'body.user'],
      [
        'a pre-auth key for nobody',
        'POST',
        '/api/v1/preauth-keys',
        { user: 'ghost@example.com' },
        404,
        'user.not_found',
        undefined,
      ],
      [
        'a pre-auth key expiring too soon',
        'POST',
        '/api/v1/preauth-keys',
        { tags: ['tag:ci'], expiresInSeconds: 5 },
        400,
        'request.invalid_field',
        'body.expiresInSeconds',
      ],
      [
        'a pre-auth key with a bad tag',
        'POST',
        '/api/v1/preauth-keys',
        { tags: ['ci'] },
        400,
        'request.invalid_field',
        'body.tags.0',
      ],
      [
        'an API key with an unknown scope',
        'POST',
        '/api/v1/api-keys',
        { scopes: ['root'] },
        400,
        'request.invalid_field',
        'body.scopes.0',
      ],
      [
        'an API key with no scope',
        'POST',
        '/api/v1/api-keys',
        { scopes: [] },
        400,
        'request.invalid_field',
        'body.scopes',
      ],
      [
        'a policy that is not a string',
        'PUT',
        '/api/v1/policy',
        { policy: { acls: [] } },
        400,
        'request.invalid_field',
        'body.policy',
      ],
      [
        'a policy version that is not a number',
        'PUT',
        '/api/v1/policy',
        { policy: '{}', ifVersion: 'latest' },
        400,
        'request.invalid_field',
        'body.ifVersion',
      ],
      [
        'a policy check with no policy',
        'POST',
        '/api/v1/policy/check',
        {},
        400,
        'request.invalid_field',
        'body.policy',
      ],
      [
        'deleting a node that does not exist',
        'DELETE',
        '/api/v1/nodes/n-missing',
        undefined,
        404,
        'node.not_found',
        undefined,
      ],
      [
        'deleting a user who does not exist',
        'DELETE',
        '/api/v1/users/u-missing',
        undefined,
        404,
        'user.not_found',
        undefined,
      ],
      [
        'revoking a pre-auth key that does not exist',
        'DELETE',
        '/api/v1/preauth-keys/nope',
        undefined,
        404,
        'preauth_key.not_found',
        undefined,
      ],
      [
        'revoking an API key that does not exist',
        'DELETE',
        '/api/v1/api-keys/nope',
        undefined,
        404,
        'api_key.not_found',
        undefined,
      ],
    ];
    for (const [what, method, path, body, status, code, where] of cases) {
      it(`${what}: ${status} ${code}`, async () => {
        const a = await unchanged(() =>
          send(url, method, path, {
            headers: {
              authorization: `Bearer ${ts.adminKey}`,
              ...(body !== undefined && { 'content-type': 'application/json' }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          }),
        );
        const err = expectRefused(a, status, code);
        if (where) expect(err.where).toBe(where);
      });
    }

    it('a policy that does not parse: 400 policy.invalid with file:line:col, the old policy stays', async () => {
      const a = await unchanged(() =>
        ts.admin<any>('PUT', '/api/v1/policy', {
          policy: '{\n  "acls": [\n    {"action": "accept", "src": ["group:nobody"], "dst": ["*:*"]},\n  ],\n}\n',
        }),
      );
      expect(a.status).toBe(400);
      expect(a.body.code).toBe('policy.invalid');
      expect(a.body.where).toMatch(/^policy\.hujson:\d+:\d+$/);
      expect(a.body.details.length).toBeGreaterThan(0);
      expect(a.body.message).toContain('group:nobody');
    });

    it('node actions with bad input name the field and change nothing', async () => {
      const agent = new TestAgent(url, 'target');
      const node = await agent.join(aliceKey, { advertiseRoutes: ['10.9.0.0/16'] });
      const rename = await unchanged(() =>
        ts.admin<any>('POST', `/api/v1/nodes/${node.id}/rename`, { name: 'Bad_Name' }),
      );
      expect([rename.status, rename.body.code, rename.body.where]).toEqual([400, 'node.bad_name', 'body.name']);
      const taken = await unchanged(() => ts.admin<any>('POST', `/api/v1/nodes/${node.id}/rename`, { name: 'prover' }));
      expect([taken.status, taken.body.code]).toEqual([409, 'node.name_taken']);
      const tags = await unchanged(() =>
        ts.admin<any>('POST', `/api/v1/nodes/${node.id}/tags`, { tags: ['tag:undefined-here'] }),
      );
      expect([tags.status, tags.body.code, tags.body.where]).toEqual([400, 'tag.undefined', 'body.tags']);
      const routes = await unchanged(() =>
        ts.admin<any>('POST', `/api/v1/nodes/${node.id}/routes`, { routes: ['10.8.0.0/16'] }),
      );
      expect([routes.status, routes.body.code, routes.body.where]).toEqual([
        400,
        'route.not_advertised',
        'body.routes',
      ]);
      const expire = await unchanged(() => ts.admin<any>('POST', `/api/v1/nodes/${node.id}/expire`, { now: true }));
      expect([expire.status, expire.body.code]).toEqual([400, 'request.unknown_field']);
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/api/v1/nope'],
      ['GET', '/api/v2/nodes'],
      ['PATCH', '/api/v1/users'],
      ['POST', '/healthz'],
      ['GET', '/api/v1/machine/register'],
      ['GET', '/../../etc/passwd'],
    ])('%s %s: 404 not_found as JSON naming the path', async (method, path) => {
      const a = await unchanged(() => send(url, method, path, { headers: { authorization: `Bearer ${ts.adminKey}` } }));
      const body = expectRefused(a, 404, 'request.no_endpoint');
      expect(body.message).toContain(method);
    });

    it('the message names the path asked for', async () => {
      const a = await send(url, 'GET', '/api/v1/nope');
      expect(expectRefused(a, 404, 'request.no_endpoint').message).toContain('/api/v1/nope');
    });
  });

  describe('afterwards', () => {
    it('the server is still up', async () => {
      const h = await send(url, 'GET', '/healthz');
      expect(h.status).toBe(200);
      expect(h.json.status).toBe('ok');
    });

    it('no answer showed internals (stack traces, source paths, driver errors)', () => {
      expect(answersSeen.length).toBeGreaterThan(50);
      for (const a of answersSeen) {
        for (const pattern of INTERNALS) expect(a.text, `${a.status} ${a.text}`).not.toMatch(pattern);
      }
    });

    it('every refusal carried a request id', () => {
      for (const a of answersSeen.filter(
        (x) => x.status >= 400 && x.json && typeof x.json === 'object' && x.headers.get('content-type'),
      )) {
        expect(a.json.requestId, a.text).toMatch(/\S/);
      }
    });
  });
});

describe('rate limiting of joins per source', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ limits: { authPerMinute: 3 } });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it('answers 429 with Retry-After once a source has used its attempts, other sources unaffected', async () => {
    const key = await ts.preAuthKey({ user: 'erin@example.com', reusable: true });
    const attempt = async (from: string) => {
      const m = newMachine();
      const body = JSON.stringify(registerBody(m, key));
      return sendFrom(from, ts.url, 'POST', REGISTER, {
        headers: { authorization: proofFor(m, 'POST', REGISTER, body), 'content-type': 'application/json' },
        body,
      });
    };
    // Failed attempts count too: garbage from a source uses up its budget.
    const junk = await sendFrom('127.0.0.1', ts.url, 'POST', REGISTER, { body: 'garbage' });
    expect(junk.status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await attempt('127.0.0.1')).status).toBe(200);
    const nodes = (await ts.server.store.nodes.list()).length;

    const limited = await attempt('127.0.0.1');
    const body = expectRefused(limited, 429, 'request.rate_limited');
    expect(body.message).toContain('127.0.0.1');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await ts.server.store.nodes.list()).length).toBe(nodes);

    expect((await attempt('127.0.0.2')).status).toBe(200);
  });

  it('does not limit the admin API', async () => {
    for (let i = 0; i < 10; i++) expect((await ts.admin('GET', '/api/v1/nodes')).status).toBe(200);
  });

  it('the server stays healthy', async () => {
    expect((await fetch(`${ts.url}/healthz`)).status).toBe(200);
  });
});

describe('refusals are logged, secrets never', () => {
  const lines: string[] = [];
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-log-'));
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const config = ServerConfig.parse({
      dataDir: dir,
      listen: { host: '127.0.0.1', port: 0 },
      relay: { udpPort: 0 },
      log: { level: 'debug' },
    });
    server = await startServer(config, { logger: createLogger('debug', sink) });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs each refusal with its code and request id, and no secret that was presented', async () => {
    const admin = await server.keys.createApiKey({ scopes: ['admin'], description: 'log test' });
    const user = await server.users.create({ email: 'logged@example.com', groups: [] });
    const preauth = await server.keys.createPreAuthKey({
      user: user.email,
      reusable: false,
      ephemeral: false,
      tags: [],
      expiresInSeconds: 600,
      description: '',
    });
    await server.keys.revokePreAuthKey(preauth.key.id);

    const m = newMachine();
    const refused = await signed(server.url, m, 'POST', REGISTER, registerBody(m, preauth.secret));
    const body = expectRefused(refused, 401, 'preauth_key.revoked');
    const wrongKey = `${admin.secret.slice(0, -4)}AAAA`;
    const scope = await send(server.url, 'GET', '/api/v1/nodes', { headers: { authorization: `Bearer ${wrongKey}` } });
    expectRefused(scope, 401, 'api_key.unknown');
    const ok = await send(server.url, 'GET', '/api/v1/nodes', { headers: { authorization: `Bearer ${admin.secret}` } });
    expect(ok.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const logged = entries.find((e) => e.requestId === body.requestId && e.code === 'preauth_key.revoked');
    expect(logged, 'a log entry for the refused registration').toBeDefined();
    expect(logged!.status).toBe(401);
    expect(entries.some((e) => e.code === 'api_key.unknown')).toBe(true);

    const all = lines.join('\n');
    for (const secret of [preauth.secret, admin.secret, wrongKey]) {
      expect(all).not.toContain(secret.split('-').slice(3).join('-'));
    }
    expect(all).not.toContain('Trellis-Proof');
  });
});
