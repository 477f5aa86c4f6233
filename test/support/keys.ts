import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { generateMachineKey, type MachineKeyPair } from '../../client/control/machine-key.ts';
import { x25519KeyProblem } from '../../protocol/keys.ts';

/** Keys that must never be accepted, by kind, as base64 (each a valid 44-character spelling). */
const P = 2n ** 255n - 19n;
const le = (n: bigint) => {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out.toString('base64');
};
const withTopBit = (n: bigint) => le(n | (1n << 255n));

/** The u values of the low-order Curve25519 points: X25519 with them gives the all-zero secret. */
const LOW_ORDER_U = [
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
];
export const LOW_ORDER_X25519 = LOW_ORDER_U.map(le);

/** Other spellings of those: u + p (where it fits in 255 bits) and the top bit set. */
export const NON_CANONICAL_LOW_ORDER_X25519 = [le(P), le(P + 1n), ...LOW_ORDER_U.map(withTopBit)];

/** The eight small-order Ed25519 points (the identity among them). */
export const SMALL_ORDER_ED25519 = ED25519_TORSION_SUBGROUP.map((hex) => Buffer.from(hex, 'hex').toString('base64'));

/** Another spelling of the same 32 bytes: the last base64 digit's two unused bits set. */
export function respelled(key: string): string {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = digits.indexOf(key[42]!);
  return key.slice(0, 42) + digits[last ^ 1]! + '=';
}

/** A machine key whose bytes also happen to be a valid WireGuard key (about one in 32 is). */
export function machineKeyUsableAsWireGuardKey(): MachineKeyPair {
  for (;;) {
    const m = generateMachineKey();
    if (!x25519KeyProblem(new Uint8Array(Buffer.from(m.publicKey, 'base64')))) return m;
  }
}
