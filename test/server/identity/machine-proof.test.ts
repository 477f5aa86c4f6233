import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { PROOF_MAX_SKEW_MS, b64url, proofMessage, signProof } from '../../../protocol/proof.ts';
import { MachineProofVerifier } from '../../../server/identity/machine-proof.ts';
import { httpStatus } from '../../../server/http/error-handler.ts';
import { SMALL_ORDER_ED25519 } from '../../support/keys.ts';
import { refusal } from '../../support/refusal.ts';

const NOW = 1_800_000_000_000;
const PATH = '/api/v1/machine/update';
const body = new TextEncoder().encode('{"endpoints":["192.0.2.1:41641"]}');

function machine() {
  const privateKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(privateKey);
  return { privateKey, publicKey, base64: Buffer.from(publicKey).toString('base64') };
}

function sign(
  m: ReturnType<typeof machine>,
  over: { method?: string; path?: string; body?: Uint8Array; nowMs?: number; nonce?: Uint8Array } = {},
) {
  return signProof({
    machinePrivateKey: m.privateKey,
    method: over.method ?? 'POST',
    pathWithQuery: over.path ?? PATH,
    body: over.body ?? body,
    nowMs: over.nowMs ?? NOW,
    nonce: over.nonce,
  });
}

const L = ed25519.Point.Fn.ORDER;
const le32 = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const leNumber = (bytes: Uint8Array) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);

/** A proof header with chosen key and signature bytes over this test's request. */
function forged(machineKey: Uint8Array, signature: (msg: Uint8Array) => Uint8Array, over: { nowMs?: number } = {}) {
  const ts = over.nowMs ?? NOW;
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const msg = proofMessage('POST', PATH, ts, nonce, body);
  return `Trellis-Proof v1.${b64url(machineKey)}.${ts}.${b64url(nonce)}.${b64url(signature(msg))}`;
}

/** The five dot-separated fields after the scheme. */
function fields(header: string): string[] {
  return header.split(' ')[1]!.split('.');
}
/** The same bytes with the last digit's unused low bits changed (64 bytes leave 4, 32 and 16 leave 2). */
function respelledB64url(field: string): string {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = digits.indexOf(field.at(-1)!);
  return field.slice(0, -1) + digits[last ^ 1]!;
}
function withFields(header: string, change: (f: string[]) => void): string {
  const f = fields(header);
  change(f);
  return `Trellis-Proof ${f.join('.')}`;
}

/**
 * A proof by the owner of a for A = aB + T, T of order 8: a key of no prime order. Signing with
 * R = rB + jT verifies when j = -k (mod 8), which one j in eight meets.
 */
function mixedOrderProof(privateKey: Uint8Array): string {
  const { scalar: a } = ed25519.utils.getExtendedPublicKey(privateKey);
  const T = ed25519.Point.fromBytes(Buffer.from(SMALL_ORDER_ED25519[3]!, 'base64'));
  const A = ed25519.Point.BASE.multiply(a).add(T).toBytes();
  let header: string | undefined;
  for (let attempt = 0; !header && attempt < 64; attempt++) {
    const r = (leNumber(crypto.getRandomValues(new Uint8Array(32))) % (L - 1n)) + 1n;
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const msg = proofMessage('POST', PATH, NOW, nonce, body);
    for (let j = 0n; j < 8n && !header; j++) {
      const R = ed25519.Point.BASE.multiply(r)
        .add(j === 0n ? ed25519.Point.ZERO : T.multiply(j))
        .toBytes();
      const k = leNumber(sha512(new Uint8Array([...R, ...A, ...msg]))) % L;
      if ((j + k) % 8n !== 0n) continue;
      const S = (r + k * a) % L;
      header = `Trellis-Proof v1.${b64url(A)}.${NOW}.${b64url(nonce)}.${b64url(new Uint8Array([...R, ...le32(S)]))}`;
    }
  }
  if (!header) throw new Error('no mixed-order signature found in 64 tries');
  return header;
}

describe('machine-key proof verification', () => {
  const alice = machine();
  const mallory = machine();
  const verify = (
    v: MachineProofVerifier,
    header: string | undefined,
    over: { method?: string; path?: string; body?: Uint8Array; now?: number } = {},
  ) => v.verify(header, over.method ?? 'POST', over.path ?? PATH, over.body ?? body, over.now ?? NOW);

  it('accepts a proof signed over this request and returns the machine key', () => {
    const v = new MachineProofVerifier();
    expect(verify(v, sign(alice))).toBe(alice.base64);
  });

  it('accepts a proof for a request without a body, with a query', () => {
    const v = new MachineProofVerifier();
    const header = sign(alice, { method: 'GET', path: '/api/v1/machine/map?since=12', body: new Uint8Array() });
    expect(verify(v, header, { method: 'GET', path: '/api/v1/machine/map?since=12', body: new Uint8Array() })).toBe(
      alice.base64,
    );
  });

  it('accepts proofs up to the allowed skew either way', () => {
    const v = new MachineProofVerifier();
    expect(verify(v, sign(alice, { nowMs: NOW - PROOF_MAX_SKEW_MS }))).toBe(alice.base64);
    expect(verify(v, sign(alice, { nowMs: NOW + PROOF_MAX_SKEW_MS }))).toBe(alice.base64);
  });

  describe('refuses, each with its own code', () => {
    it('a stale proof (proof.stale), saying how far behind it is', () => {
      const err = refusal(() =>
        verify(new MachineProofVerifier(), sign(alice, { nowMs: NOW - PROOF_MAX_SKEW_MS - 1 })),
      );
      expect(err.code).toBe('proof.stale');
      expect(httpStatus(err)).toBe(401);
      expect(err.message).toContain('behind');
      const old = refusal(() => verify(new MachineProofVerifier(), sign(alice, { nowMs: NOW - 3_600_000 })));
      expect(old.message).toContain('3600 s behind');
    });

    it('a proof from the future (proof.stale), saying it is ahead', () => {
      const err = refusal(() =>
        verify(new MachineProofVerifier(), sign(alice, { nowMs: NOW + PROOF_MAX_SKEW_MS + 1 })),
      );
      expect(err.code).toBe('proof.stale');
      expect(err.message).toContain('ahead of');
    });

    it('a forged signature (proof.bad_signature)', () => {
      const v = new MachineProofVerifier();
      const random = withFields(sign(alice), (f) => {
        f[4] = b64url(crypto.getRandomValues(new Uint8Array(64)));
      });
      expect(refusal(() => verify(v, random)).code).toBe('proof.bad_signature');
      const flipped = withFields(sign(alice), (f) => {
        const sig = Buffer.from(f[4]!, 'base64url');
        sig[10]! ^= 1;
        f[4] = b64url(sig);
      });
      expect(refusal(() => verify(v, flipped)).code).toBe('proof.bad_signature');
    });

    it('a signature made for another path, query, method or body (proof.bad_signature)', () => {
      const v = new MachineProofVerifier();
      expect(refusal(() => verify(v, sign(alice, { path: '/api/v1/machine/self' }))).code).toBe('proof.bad_signature');
      expect(refusal(() => verify(v, sign(alice, { path: `${PATH}?x=1` }))).code).toBe('proof.bad_signature');
      expect(refusal(() => verify(v, sign(alice, { method: 'PUT' }))).code).toBe('proof.bad_signature');
      const other = new TextEncoder().encode('{"endpoints":["203.0.113.9:41641"]}');
      expect(refusal(() => verify(v, sign(alice, { body: other }))).code).toBe('proof.bad_signature');
    });

    it("a proof that claims another machine's key (proof.bad_signature)", () => {
      const v = new MachineProofVerifier();
      const claimed = withFields(sign(mallory), (f) => {
        f[1] = b64url(alice.publicKey);
      });
      expect(refusal(() => verify(v, claimed)).code).toBe('proof.bad_signature');
    });

    it('a small-order machine key, with the signature that verifies for every message (proof.bad_key)', () => {
      // A = R = identity, S = 0: [S]B = R + [k]A holds whatever k (whatever the message) is.
      const identity = new Uint8Array(Buffer.from(SMALL_ORDER_ED25519[0]!, 'base64'));
      const everyMessage = () => new Uint8Array([...identity, ...new Uint8Array(32)]);
      const err = refusal(() => verify(new MachineProofVerifier(), forged(identity, everyMessage)));
      expect(err.code).toBe('proof.bad_key');
      expect(httpStatus(err)).toBe(401);
      expect(err.message).toContain('small-order');
      for (const key of SMALL_ORDER_ED25519) {
        const bytes = new Uint8Array(Buffer.from(key, 'base64'));
        expect(refusal(() => verify(new MachineProofVerifier(), forged(bytes, everyMessage))).code).toBe(
          'proof.bad_key',
        );
      }
    });

    it('a machine key with a small-order component, or not canonically encoded', () => {
      const torsion = ed25519.Point.fromBytes(Buffer.from(SMALL_ORDER_ED25519[3]!, 'base64'));
      const mixed = ed25519.Point.fromBytes(alice.publicKey).add(torsion).toBytes();
      const anySignature = () => new Uint8Array(64);
      // Such a key fails the full check, made only once a signature holds: a plain bad signature.
      expect(refusal(() => verify(new MachineProofVerifier(), forged(mixed, anySignature))).code).toBe(
        'proof.bad_signature',
      );
      // y = p + 1 spells y = 1 (the identity) a second way.
      const unreduced = le32(2n ** 255n - 19n + 1n);
      expect(refusal(() => verify(new MachineProofVerifier(), forged(unreduced, anySignature))).code).toBe(
        'proof.bad_key',
      );
    });

    it('a mixed-order machine key even with a signature that holds for it (proof.bad_signature)', () => {
      const header = mixedOrderProof(alice.privateKey);
      expect(refusal(() => verify(new MachineProofVerifier(), header)).code).toBe('proof.bad_signature');
    });

    it('a mixed-order machine key no node holds, when the store is asked for its node first', async () => {
      const header = mixedOrderProof(alice.privateKey);
      const v = new MachineProofVerifier();
      const asked: string[] = [];
      const registered = async (key: string) => void asked.push(key);
      await expect(v.verifyShared(header, 'POST', PATH, body, NOW, registered)).rejects.toMatchObject({
        code: 'proof.bad_signature',
      });
      expect(asked).toHaveLength(1);
    });

    it('a signature with S not reduced below L (proof.bad_signature)', () => {
      const genuine = sign(alice);
      const unreduced = withFields(genuine, (f) => {
        const sig = Buffer.from(f[4]!, 'base64url');
        const s = leNumber(sig.subarray(32)) + L;
        sig.set(le32(s), 32);
        f[4] = b64url(sig);
      });
      expect(refusal(() => verify(new MachineProofVerifier(), unreduced)).code).toBe('proof.bad_signature');
      expect(verify(new MachineProofVerifier(), genuine)).toBe(alice.base64);
    });

    it('a signature whose R is of small order, though the equation holds (proof.bad_signature)', () => {
      // With its own private scalar a, anyone can make R = identity, S = k·a verify: a strict
      // verifier refuses it, as such signatures are not bound to a nonce.
      const { scalar } = ed25519.utils.getExtendedPublicKey(alice.privateKey);
      const identity = new Uint8Array(Buffer.from(SMALL_ORDER_ED25519[0]!, 'base64'));
      const header = forged(alice.publicKey, (msg) => {
        const k = leNumber(sha512(new Uint8Array([...identity, ...alice.publicKey, ...msg]))) % L;
        return new Uint8Array([...identity, ...le32((k * scalar) % L)]);
      });
      expect(refusal(() => verify(new MachineProofVerifier(), header)).code).toBe('proof.bad_signature');
    });

    it('a timestamp changed after signing (proof.bad_signature)', () => {
      const v = new MachineProofVerifier();
      const moved = withFields(sign(alice), (f) => {
        f[2] = String(NOW + 1);
      });
      expect(refusal(() => verify(v, moved)).code).toBe('proof.bad_signature');
    });

    it('a replayed proof (proof.replayed), whatever else changes about it', () => {
      const v = new MachineProofVerifier();
      const header = sign(alice);
      verify(v, header);
      expect(refusal(() => verify(v, header)).code).toBe('proof.replayed');
      expect(refusal(() => verify(v, header, { now: NOW + 1000 })).code).toBe('proof.replayed');
      // Same nonce, re-signed for another request: still refused.
      const nonce = Buffer.from(fields(header)[3]!, 'base64url');
      const resigned = sign(alice, { path: '/api/v1/machine/self', method: 'GET', body: new Uint8Array(), nonce });
      const err = refusal(() =>
        verify(v, resigned, { path: '/api/v1/machine/self', method: 'GET', body: new Uint8Array() }),
      );
      expect(err.code).toBe('proof.replayed');
    });

    it('a replay at any moment while the proof is still fresh', () => {
      const v = new MachineProofVerifier();
      // Signed as far in the future as allowed, so it stays fresh for the longest time.
      const header = sign(alice, { nowMs: NOW + PROOF_MAX_SKEW_MS });
      verify(v, header);
      for (const later of [
        1,
        PROOF_MAX_SKEW_MS,
        2 * PROOF_MAX_SKEW_MS - 1,
        2 * PROOF_MAX_SKEW_MS,
        2 * PROOF_MAX_SKEW_MS + 1,
      ]) {
        const err = refusal(() => verify(v, header, { now: NOW + later }));
        expect(['proof.replayed', 'proof.stale'], `replayed ${later} ms later`).toContain(err.code);
      }
    });

    it('a missing header (proof.missing)', () => {
      const err = refusal(() => verify(new MachineProofVerifier(), undefined));
      expect(err.code).toBe('proof.missing');
      expect(err.message).toContain('Trellis-Proof');
      expect(refusal(() => verify(new MachineProofVerifier(), '')).code).toBe('proof.missing');
    });

    const good = sign(alice);
    const malformed: Array<[string, string, RegExp]> = [
      ['another scheme', good.replace('Trellis-Proof', 'Bearer'), /scheme/],
      ['no value', 'Trellis-Proof', /scheme/],
      ['an extra part after a space', `${good} extra`, /scheme/],
      [
        'another version',
        withFields(good, (f) => {
          f[0] = 'v2';
        }),
        /v1\.<key>/,
      ],
      [
        'four fields',
        withFields(good, (f) => {
          f.pop();
        }),
        /v1\.<key>/,
      ],
      [
        'six fields',
        withFields(good, (f) => {
          f.push('x');
        }),
        /v1\.<key>/,
      ],
      [
        'a time that is not a number',
        withFields(good, (f) => {
          f[2] = 'yesterday';
        }),
        /time/,
      ],
      [
        'a negative time',
        withFields(good, (f) => {
          f[2] = `-${NOW}`;
        }),
        /time/,
      ],
      [
        'a short machine key',
        withFields(good, (f) => {
          f[1] = b64url(new Uint8Array(31));
        }),
        /machine key/,
      ],
      [
        'a machine key in standard base64',
        withFields(good, (f) => {
          f[1] = '+/'.repeat(21) + 'A';
        }),
        /machine key/,
      ],
      [
        'a short nonce',
        withFields(good, (f) => {
          f[3] = b64url(new Uint8Array(8));
        }),
        /nonce/,
      ],
      [
        'a long nonce',
        withFields(good, (f) => {
          f[3] = b64url(new Uint8Array(40));
        }),
        /nonce/,
      ],
      [
        'an empty nonce',
        withFields(good, (f) => {
          f[3] = '';
        }),
        /nonce/,
      ],
      [
        'a short signature',
        withFields(good, (f) => {
          f[4] = b64url(new Uint8Array(63));
        }),
        /signature/,
      ],
      [
        'a signature spelled with unused trailing bits set',
        withFields(good, (f) => {
          f[4] = respelledB64url(f[4]!);
        }),
        /signature .*canonical base64url/,
      ],
      [
        'a nonce spelled with unused trailing bits set',
        withFields(good, (f) => {
          f[3] = respelledB64url(f[3]!);
        }),
        /nonce .*canonical base64url/,
      ],
      [
        'a machine key spelled with unused trailing bits set',
        withFields(good, (f) => {
          f[1] = respelledB64url(f[1]!);
        }),
        /machine key .*canonical base64url/,
      ],
      ['junk', 'Trellis-Proof !!!!', /v1\.<key>/],
    ];
    for (const [what, header, reason] of malformed) {
      it(`a malformed header: ${what} (proof.malformed)`, () => {
        const err = refusal(() => verify(new MachineProofVerifier(), header));
        expect(err.code).toBe('proof.malformed');
        expect(httpStatus(err)).toBe(401);
        expect(err.message).toMatch(reason);
      });
    }
  });

  it('a refused forgery does not burn the nonce of the genuine request', () => {
    const v = new MachineProofVerifier();
    const genuine = sign(alice);
    const forged = withFields(genuine, (f) => {
      f[4] = b64url(new Uint8Array(64));
    });
    expect(refusal(() => verify(v, forged)).code).toBe('proof.bad_signature');
    expect(verify(v, genuine)).toBe(alice.base64);
  });

  it("returns the registered node the lookup finds for the proof's key, asked once", async () => {
    const v = new MachineProofVerifier();
    const asked: string[] = [];
    const registered = async (key: string) => (asked.push(key), { id: 'node-1' });
    expect(await v.verifyShared(sign(alice), 'POST', PATH, body, NOW, registered)).toEqual({
      machineKey: alice.base64,
      registered: { id: 'node-1' },
    });
    expect(asked).toEqual([alice.base64]);
    expect(await v.verifyShared(sign(mallory), 'POST', PATH, body, NOW, async () => undefined)).toEqual({
      machineKey: mallory.base64,
    });
  });

  it('a replayed proof is refused even when its node is registered (proof.replayed)', async () => {
    const v = new MachineProofVerifier();
    const header = sign(alice);
    const registered = async () => ({ id: 'node-1' });
    await v.verifyShared(header, 'POST', PATH, body, NOW, registered);
    await expect(v.verifyShared(header, 'POST', PATH, body, NOW + 1, registered)).rejects.toMatchObject({
      code: 'proof.replayed',
    });
  });

  it('remembers nonces within a bound, refusing with proof.busy rather than forgetting early', () => {
    const v = new MachineProofVerifier(3);
    for (let i = 0; i < 3; i++) verify(v, sign(alice), { now: NOW + i });
    const err = refusal(() => verify(v, sign(alice, { nowMs: NOW + 3 }), { now: NOW + 3 }));
    expect(err.code).toBe('proof.busy');
    expect(err.retryable).toBe(true);
    // Once the window has passed, old nonces are forgotten and there is room again.
    const later = NOW + 3 * PROOF_MAX_SKEW_MS;
    expect(verify(v, sign(alice, { nowMs: later }), { now: later })).toBe(alice.base64);
  });
});
