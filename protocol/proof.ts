import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed25519KeyProblem, isCanonicalEd25519Encoding, isSmallOrderEncoding } from './keys.ts';

/**
 * Machine-key proof of possession, carried by every control request and the map stream as
 *
 *   Authorization: Trellis-Proof v1.<machineKey>.<unixMillis>.<nonce>.<signature>
 *
 * (machine key, nonce and signature in base64url). The signature covers the method, the path
 * with its query, the time, the nonce and the SHA-256 of the body, so a proof seen in a log or
 * by a proxy cannot be used for another request, and the server refuses a nonce twice within
 * the freshness window, so it cannot be replayed for the same one.
 *
 * Verification is strict (RFC 8032 with the extra refusals of "strict" verifiers): the machine
 * key must be a canonical point of the prime-order subgroup (ed25519KeyProblem), S must be
 * reduced (< L), and R canonical and not of small order. A small-order key is the hole this
 * closes: with the identity as the key, R = identity and S = 0 verify for every message.
 * Each field must be canonical base64url (the encoding Buffer gives back), so one proof has one
 * spelling.
 */
export const PROOF_SCHEME = 'Trellis-Proof';
export const PROOF_VERSION = 'v1';
/** How far a proof's clock may stray from the server's. */
export const PROOF_MAX_SKEW_MS = 30_000;

interface ProofFields {
  machineKey: Uint8Array;
  timestampMs: number;
  nonce: Uint8Array;
  signature: Uint8Array;
}

export function proofMessage(
  method: string,
  pathWithQuery: string,
  timestampMs: number,
  nonce: Uint8Array,
  body: Uint8Array,
): Uint8Array {
  const text = [
    'trellis-proof-v1',
    method.toUpperCase(),
    pathWithQuery,
    String(timestampMs),
    b64url(nonce),
    createHash('sha256').update(body).digest('hex'),
  ].join('\n');
  return new TextEncoder().encode(text);
}

/** Builds the Authorization header value for one request. */
export function signProof(opts: {
  machinePrivateKey: Uint8Array;
  method: string;
  pathWithQuery: string;
  body?: Uint8Array;
  nowMs?: number;
  nonce?: Uint8Array;
}): string {
  const ts = opts.nowMs ?? Date.now();
  const nonce = opts.nonce ?? crypto.getRandomValues(new Uint8Array(16));
  const key = ed25519PrivateKey(opts.machinePrivateKey);
  const pub = publicKeyBytes(key);
  const msg = proofMessage(opts.method, opts.pathWithQuery, ts, nonce, opts.body ?? new Uint8Array());
  const sig = sign(null, msg, key);
  return `${PROOF_SCHEME} ${PROOF_VERSION}.${b64url(pub)}.${ts}.${b64url(nonce)}.${b64url(sig)}`;
}

/** Parses the header; returns a reason string when it is not well-formed. */
export function parseProof(header: string | undefined): ProofFields | string {
  if (!header) return 'missing Authorization header';
  const [scheme, value, ...rest] = header.split(' ');
  if (scheme !== PROOF_SCHEME || !value || rest.length) return `Authorization must use the ${PROOF_SCHEME} scheme`;
  const parts = value.split('.');
  if (parts.length !== 5 || parts[0] !== PROOF_VERSION)
    return `proof must be ${PROOF_VERSION}.<key>.<time>.<nonce>.<signature>`;
  const [, key, ts, nonce, sig] = parts as [string, string, string, string, string];
  if (!/^\d{1,15}$/.test(ts)) return 'proof time must be unix milliseconds';
  const machineKey = fromB64url(key);
  const nonceBytes = fromB64url(nonce);
  const signature = fromB64url(sig);
  if (machineKey?.length !== 32) return 'proof machine key must be 32 bytes in canonical base64url';
  if (!nonceBytes || nonceBytes.length < 12 || nonceBytes.length > 32)
    return 'proof nonce must be 12 to 32 bytes in canonical base64url';
  if (signature?.length !== 64) return 'proof signature must be 64 bytes in canonical base64url';
  return { machineKey, timestampMs: Number(ts), nonce: nonceBytes, signature };
}

/**
 * `checkKey: false` leaves the full key check (ed25519KeyProblem, a scalar multiplication for a
 * key this process has not seen) to the caller, which must run it unless it knows the key passed
 * it already: the server skips it for a key its store holds for a registered node.
 */
export function verifyProofSignature(
  proof: ProofFields,
  method: string,
  pathWithQuery: string,
  body: Uint8Array,
  options: { checkKey?: boolean } = {},
): boolean {
  // Byte checks first; the full key check (a scalar multiplication, then cached) only for a key
  // that has just made a valid signature, so that junk costs no more than before.
  if (!isPlausibleKey(proof.machineKey) || !isStrictSignature(proof.signature)) return false;
  const msg = proofMessage(method, pathWithQuery, proof.timestampMs, proof.nonce, body);
  let valid: boolean;
  try {
    valid = verify(null, msg, ed25519PublicKey(proof.machineKey), proof.signature);
  } catch {
    return false;
  }
  return valid && (options.checkKey === false || !ed25519KeyProblem(proof.machineKey));
}

const L = ed25519.Point.Fn.ORDER;

/** Canonical and not of small order: the key check's cheap part, on the bytes alone. */
export function isPlausibleKey(key: Uint8Array): boolean {
  return isCanonicalEd25519Encoding(key) && !isSmallOrderEncoding(key);
}

/** S reduced, R a canonical encoding of a point not of small order (checked on the bytes: cheap). */
function isStrictSignature(signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  return bytesToNumberLE(signature.subarray(32)) < L && isCanonicalEd25519Encoding(r) && !isSmallOrderEncoding(r);
}

// Node's own Ed25519 (OpenSSL) is many times faster than a JavaScript one, and the server
// verifies a proof on every request. Raw 32-byte keys are wrapped in their fixed DER headers.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const publicBytes = new WeakMap<KeyObject, Uint8Array>();

function publicKeyBytes(privateKey: KeyObject): Uint8Array {
  let bytes = publicBytes.get(privateKey);
  if (!bytes) {
    bytes = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
    publicBytes.set(privateKey, bytes);
  }
  return bytes;
}

// Building a KeyObject costs more than the signature itself, and the same keys sign and verify
// request after request: keep the most recent ones.
const publicKeys = new Map<string, KeyObject>();
const privateKeys = new WeakMap<Uint8Array, KeyObject>();
const MAX_CACHED_PUBLIC_KEYS = 100_000;

function ed25519PublicKey(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw).toString('base64');
  let key = publicKeys.get(id);
  if (!key) {
    // JWK import skips OpenSSL's decoder search: ten times faster than DER here.
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, key);
  }
  return key;
}

function ed25519PrivateKey(raw: Uint8Array): KeyObject {
  let key = privateKeys.get(raw);
  if (!key) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    privateKeys.set(raw, key);
  }
  return key;
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Canonical unpadded base64url only: decoding and encoding again must give back the input. */
function fromB64url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64url');
  return bytes.toString('base64url') === s ? new Uint8Array(bytes) : undefined;
}
