import { x25519 } from '@noble/curves/ed25519.js';
import { WireGuardError } from './errors.ts';

/**
 * WireGuard keys: X25519, shown as base64 (as `wg` and the wire protocol do) and sent to the
 * UAPI socket as 64 lowercase hex characters.
 */
export interface KeyPair {
  privateKey: string; // base64
  publicKey: string; // base64
}

const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;
const HEX_32 = /^[0-9a-f]{64}$/;

/** A fresh key pair; the private key is clamped as `wg genkey` does, so tools show the same key. */
export function generateKeyPair(): KeyPair {
  const secret = x25519.utils.randomSecretKey();
  clamp(secret);
  return { privateKey: toBase64(secret), publicKey: toBase64(x25519.getPublicKey(secret)) };
}

export function publicKeyOf(privateKey: string): string {
  return toBase64(x25519.getPublicKey(fromBase64(privateKey, 'private key')));
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

export function isBase64Key(key: string): boolean {
  return BASE64_32.test(key) && Buffer.from(key, 'base64').length === 32;
}

function fromBase64(key: string, what: string): Uint8Array {
  // Never echo the value: it may be a private key.
  if (!isBase64Key(key)) {
    throw new WireGuardError(
      'wireguard.invalid_key',
      `${what} must be a 32-byte key in base64 (44 characters ending in "=")`,
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
