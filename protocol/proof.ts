import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Machine-key proof of possession, carried by every control request and the map stream as
 *
 *   Authorization: Trellis-Proof v1.<machineKey>.<unixMillis>.<nonce>.<signature>
 *
 * (machine key, nonce and signature in base64url). The signature covers the method, the path
 * with its query, the time, the nonce and the SHA-256 of the body, so a proof seen in a log or
 * by a proxy cannot be used for another request, and the server refuses a nonce twice within
 * the freshness window, so it cannot be replayed for the same one.
 */
export const PROOF_SCHEME = 'Trellis-Proof';
export const PROOF_VERSION = 'v1';
/** How far a proof's clock may stray from the server's. */
export const PROOF_MAX_SKEW_MS = 30_000;

export interface ProofFields {
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
  return utf8ToBytes(
    [
      'trellis-proof-v1',
      method.toUpperCase(),
      pathWithQuery,
      String(timestampMs),
      b64url(nonce),
      bytesToHex(sha256(body)),
    ].join('\n'),
  );
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
  const pub = ed25519.getPublicKey(opts.machinePrivateKey);
  const msg = proofMessage(opts.method, opts.pathWithQuery, ts, nonce, opts.body ?? new Uint8Array());
  const sig = ed25519.sign(msg, opts.machinePrivateKey);
  return `${PROOF_SCHEME} ${PROOF_VERSION}.${b64url(pub)}.${ts}.${b64url(nonce)}.${b64url(sig)}`;
}

/** Parses the header; returns a reason string when it is not well-formed. */
export function parseProof(header: string | undefined): ProofFields | string {
  if (!header) return 'missing Authorization header';
  const [scheme, value, ...rest] = header.split(' ');
  if (scheme !== PROOF_SCHEME || !value || rest.length) return `Authorization must use the ${PROOF_SCHEME} scheme`;
  const parts = value.split('.');
  if (parts.length !== 5 || parts[0] !== PROOF_VERSION) return `proof must be ${PROOF_VERSION}.<key>.<time>.<nonce>.<signature>`;
  const [, key, ts, nonce, sig] = parts as [string, string, string, string, string];
  if (!/^\d{1,15}$/.test(ts)) return 'proof time must be unix milliseconds';
  const machineKey = fromB64url(key);
  const nonceBytes = fromB64url(nonce);
  const signature = fromB64url(sig);
  if (machineKey?.length !== 32) return 'proof machine key must be 32 bytes';
  if (!nonceBytes || nonceBytes.length < 12 || nonceBytes.length > 32) return 'proof nonce must be 12 to 32 bytes';
  if (signature?.length !== 64) return 'proof signature must be 64 bytes';
  return { machineKey, timestampMs: Number(ts), nonce: nonceBytes, signature };
}

export function verifyProofSignature(
  proof: ProofFields,
  method: string,
  pathWithQuery: string,
  body: Uint8Array,
): boolean {
  const msg = proofMessage(method, pathWithQuery, proof.timestampMs, proof.nonce, body);
  try {
    return ed25519.verify(proof.signature, msg, proof.machineKey);
  } catch {
    return false;
  }
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function fromB64url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
