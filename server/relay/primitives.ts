import { timingSafeEqual } from 'node:crypto';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { CONSTRUCTION, IDENTIFIER, MAC_SIZE } from './constants.ts';

/**
 * The primitives of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard instantiates them
 * (whitepaper §5.4): HASH = BLAKE2s-256, MAC = keyed BLAKE2s-128, HMAC over BLAKE2s, the HKDF-style
 * KDF_n, ChaCha20-Poly1305 with a 64-bit little-endian counter nonce, XChaCha20-Poly1305 for
 * cookies, and X25519.
 */
const utf8 = (s: string) => new TextEncoder().encode(s);

export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return blake2s(data, { key, dkLen: MAC_SIZE });
}

function hmacBlake2s(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(blake2s, key, data);
}

/** KDF_n(key, input): τ0 = HMAC(key, input); τi = HMAC(τ0, τ(i-1) || i). */
export function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const t0 = hmacBlake2s(key, input);
  const out: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 1; i <= n; i++) {
    const block = new Uint8Array(prev.length + 1);
    block.set(prev);
    block[prev.length] = i;
    prev = hmacBlake2s(t0, block);
    out.push(prev);
  }
  return out;
}

/** 4 zero bytes then the counter, 64-bit little-endian. */
function counterNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, counter, true);
  return nonce;
}

export function aeadSeal(key: Uint8Array, counter: bigint, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return chacha20poly1305(key, counterNonce(counter), ad).encrypt(plaintext);
}

/** The plaintext, or undefined when the ciphertext is not authentic. */
export function aeadOpen(
  key: Uint8Array,
  counter: bigint,
  ciphertext: Uint8Array,
  ad: Uint8Array,
): Uint8Array | undefined {
  try {
    return chacha20poly1305(key, counterNonce(counter), ad).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}

export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, ad).encrypt(plaintext);
}

export function xaeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array,
): Uint8Array | undefined {
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}

/** X25519; undefined for a low-order point (an all-zero shared secret), which WireGuard rejects. */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  try {
    const shared = x25519.getSharedSecret(privateKey, publicKey);
    return shared.every((b) => b === 0) ? undefined : shared;
  } catch {
    return undefined;
  }
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/** A fresh X25519 secret, clamped as `wg genkey` does. */
export function newPrivateKey(): Uint8Array {
  const k = x25519.utils.randomSecretKey();
  k[0]! &= 248;
  k[31]! = (k[31]! & 127) | 64;
  return k;
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** C0 = HASH(CONSTRUCTION); H0 = HASH(C0 || IDENTIFIER): the same for every handshake. */
export const INITIAL_CHAIN_KEY = hash(utf8(CONSTRUCTION));
export const INITIAL_HASH = hash(INITIAL_CHAIN_KEY, utf8(IDENTIFIER));

export { utf8 };
