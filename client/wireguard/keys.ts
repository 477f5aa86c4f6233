import { x25519 } from '@noble/curves/ed25519.js';
import { keyBytes, x25519KeyProblem } from '../../protocol/keys.ts';
import { WireGuardError } from './errors.ts';

/**
 * WireGuard keys: X25519, shown as base64 (as `wg` and the wire protocol do) and sent to the
 * UAPI socket as 64 lowercase hex characters.
 */
export interface KeyPair {
  privateKey: string; // base64
  publicKey: string; // base64
}

const HEX_32 = /^[0-9a-f]{64}$/;

/** A fresh key pair; the private key is clamped as `wg genkey` does, so tools show the same key. */
export function generateKeyPair(): KeyPair {
  const secret = x25519.utils.randomSecretKey();
  clamp(secret);
  return { privateKey: toBase64(secret), publicKey: checkedPublicKey(secret) };
}

export function publicKeyOf(privateKey: string): string {
  return checkedPublicKey(fromBase64(privateKey, 'private key'));
}

/**
 * A clamped scalar times the base point is always a canonical key of the prime-order subgroup;
 * checked all the same, since a key the server would refuse must never leave this machine.
 */
function checkedPublicKey(secret: Uint8Array): string {
  const pub = x25519.getPublicKey(secret);
  const problem = x25519KeyProblem(pub);
  if (problem)
    throw new WireGuardError('wireguard.invalid_key', `the private key gives a public key that ${problem.message}`);
  return toBase64(pub);
}

export function base64ToHex(key: string, what = 'key'): string {
  return Buffer.from(fromBase64(key, what)).toString('hex');
}

export function hexToBase64(hex: string, what = 'key'): string {
  if (!HEX_32.test(hex)) {
    throw new WireGuardError(
      'wireguard.invalid_key',
      `${what} must be 64 lowercase hex characters, got ${hex.length} characters`,
    );
  }
  return Buffer.from(hex, 'hex').toString('base64');
}

/** 32 bytes in canonical base64: one spelling per key, so keys compare as text. */
export function isBase64Key(key: string): boolean {
  return keyBytes(key) !== undefined;
}

function fromBase64(key: string, what: string): Uint8Array {
  // Never echo the value: it may be a private key.
  if (!isBase64Key(key)) {
    throw new WireGuardError(
      'wireguard.invalid_key',
      `${what} must be a 32-byte key in canonical base64 (44 characters ending in "=")`,
    );
  }
  return new Uint8Array(Buffer.from(key, 'base64'));
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function clamp(secret: Uint8Array): void {
  secret[0]! &= 248;
  secret[31]! = (secret[31]! & 127) | 64;
}
