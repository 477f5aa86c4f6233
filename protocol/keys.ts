import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { z } from 'zod';
import { codeCatalog, type CodeOf } from './coded-error.ts';

/**
 * Public keys travel as standard base64 of 32 bytes (44 characters), as `wg` prints them.
 * WireGuard keys are X25519; machine keys are Ed25519.
 *
 * A key is accepted only when it is a key that a real private key could have made, spelled the
 * one way that key is spelled:
 * - canonical base64: the last character carries two unused bits, so four spellings decode to
 *   the same 32 bytes; only the one `Buffer.toString('base64')` gives back is accepted, so text
 *   equality is byte equality everywhere the key is compared or stored;
 * - canonical point encoding: no field element >= p, no sign bit where the encoding has none;
 * - a point of the prime-order subgroup, never one of small order: with a small-order Ed25519
 *   key a signature can verify for every message, and X25519 with a low-order key gives an
 *   all-zero shared secret.
 */
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

export const KEY_CODES = codeCatalog({
  key: [
    'key.not_canonical', // not the one canonical spelling (base64 or point encoding) of the key
    'key.low_order', // a small-order point: proves nothing, or gives an all-zero shared secret
    'key.not_on_curve', // not a point of the curve (for X25519: a point of the twist)
    'key.not_prime_order', // a point with a small-order component
  ],
});
type KeyProblemCode = CodeOf<typeof KEY_CODES>;

interface KeyProblem {
  code: KeyProblemCode;
  message: string;
}

/** The 32 bytes of a key in canonical base64, or undefined for anything else. */
export function keyBytes(text: string): Uint8Array | undefined {
  if (!BASE64_32.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 && bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

export function keyText(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

const Fp = ed25519.Point.Fp;
const P = Fp.ORDER;

/**
 * Keys already found good, so that a key seen on every request (a machine key) or in every map
 * (a peer's WireGuard key) costs its scalar multiplication once. Bounded; forgets the oldest.
 */
class GoodKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    if (this.keys.size >= this.max) this.keys.delete(this.keys.values().next().value!);
    this.keys.add(key);
  }
}

const goodEd25519 = new GoodKeys(100_000);
const goodX25519 = new GoodKeys(100_000);

/**
 * Why these 32 bytes are not a usable Ed25519 public key, or undefined when they are.
 * Decoding is RFC 8032's strict one (y < p, no "negative zero" x); the point must re-encode to
 * the same bytes and lie in the prime-order subgroup (which excludes the eight small-order
 * points, the identity among them, and every point with a small-order component).
 */
export function ed25519KeyProblem(bytes: Uint8Array): KeyProblem | undefined {
  if (bytes.length !== 32) throw new TypeError('an Ed25519 key is 32 bytes');
  const id = keyText(bytes);
  if (goodEd25519.has(id)) return undefined;
  if (!isCanonicalEd25519Encoding(bytes)) {
    return { code: 'key.not_canonical', message: 'is not a canonical Ed25519 point encoding (y >= p)' };
  }
  let point;
  try {
    point = ed25519.Point.fromBytes(bytes, false);
  } catch {
    // Strict decoding also refuses x = 0 with the sign bit set: a second spelling of a point.
    const signedZero = bytes[31]! & 0x80 && isSmallOrderEncoding(bytes);
    return signedZero
      ? { code: 'key.not_canonical', message: 'is not a canonical Ed25519 point encoding (x = 0 with a sign)' }
      : { code: 'key.not_on_curve', message: 'is not a point on the Ed25519 curve' };
  }
  if (keyText(point.toBytes()) !== id) {
    return { code: 'key.not_canonical', message: 'is not a canonical Ed25519 point encoding' };
  }
  if (point.isSmallOrder()) {
    return {
      code: 'key.low_order',
      message: 'is a small-order Ed25519 point, for which signatures prove nothing: it belongs to no one',
    };
  }
  if (!point.isTorsionFree()) {
    return {
      code: 'key.not_prime_order',
      message: 'is not in the prime-order subgroup of Ed25519 (it has a small-order component)',
    };
  }
  goodEd25519.add(id);
  return undefined;
}

/**
 * The encodings of the eight small-order Ed25519 points, and the two "x = 0 with a sign bit"
 * spellings of the identity and of the point of order 2 (y >= p spellings are refused before
 * this). The signature check refuses such an R without decoding it.
 */
const SMALL_ORDER_ENCODINGS = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
]);

export function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.has(Buffer.from(bytes).toString('hex'));
}

/** y < p, with the sign bit ignored: RFC 8032's condition for a canonical point encoding. */
export function isCanonicalEd25519Encoding(bytes: Uint8Array): boolean {
  return bytesToNumberLE(bytes) % 2n ** 255n < P;
}

/**
 * The u-coordinates of every Curve25519 point (on the curve or its twist) whose order divides
 * the cofactor: X25519 sends each of them, times any private key, to the all-zero secret.
 */
const LOW_ORDER_U = new Set([
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

/**
 * Why these 32 bytes are not a usable X25519 (WireGuard) public key, or undefined when they are.
 *
 * RFC 7748 tells X25519 to ignore the top bit and to reduce u modulo p, so 2^255 + 19 more byte
 * strings name keys that already have a spelling of their own. A real public key (a clamped
 * scalar times the base point) always encodes with u < p and the top bit clear, and WireGuard
 * peers are told apart by their key bytes: both non-canonical forms are refused, or two nodes
 * could hold one key under two spellings. Beyond the five low-order u values, a key must be on
 * the curve (not its twist) and in the prime-order subgroup, as every key `wg genkey` makes is.
 */
export function x25519KeyProblem(bytes: Uint8Array): KeyProblem | undefined {
  if (bytes.length !== 32) throw new TypeError('an X25519 key is 32 bytes');
  const id = keyText(bytes);
  if (goodX25519.has(id)) return undefined;
  if (bytes[31]! & 0x80) {
    return { code: 'key.not_canonical', message: 'has the top bit set, which X25519 ignores: not a canonical key' };
  }
  const u = bytesToNumberLE(bytes);
  if (u >= P) return { code: 'key.not_canonical', message: 'is not a canonical X25519 key (u >= p)' };
  if (LOW_ORDER_U.has(u)) {
    return {
      code: 'key.low_order',
      message: 'is a low-order Curve25519 point: X25519 with it gives an all-zero shared secret',
    };
  }
  // The Edwards form of the point, y = (u - 1) / (u + 1), decodes exactly when u is on the curve.
  const y = Fp.div(Fp.sub(u, 1n), Fp.add(u, 1n));
  let point;
  try {
    point = ed25519.Point.fromBytes(Fp.toBytes(y), false);
  } catch {
    return { code: 'key.not_on_curve', message: 'is a point on the twist of Curve25519, not on the curve' };
  }
  if (!point.isTorsionFree()) {
    return {
      code: 'key.not_prime_order',
      message: 'is not in the prime-order subgroup of Curve25519 (it has a small-order component)',
    };
  }
  goodX25519.add(id);
  return undefined;
}

function keySchema(what: string, problem: (bytes: Uint8Array) => KeyProblem | undefined) {
  return z
    .string()
    .regex(BASE64_32, 'must be a 32-byte key in base64 (44 characters ending in "=")')
    .superRefine((text, ctx) => {
      const bytes = keyBytes(text);
      const found = bytes
        ? problem(bytes)
        : { code: 'key.not_canonical' as const, message: 'is not canonical base64 (the unused low bits must be 0)' };
      if (found) ctx.addIssue({ code: 'custom', message: `${what} ${found.message}`, params: { code: found.code } });
    })
    .describe(`${what} (base64)`);
}

export const WireGuardKey = keySchema('WireGuard public key (X25519)', x25519KeyProblem);
export const MachineKey = keySchema('machine public key (Ed25519)', ed25519KeyProblem);
