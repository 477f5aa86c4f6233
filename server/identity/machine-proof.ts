import {
  PROOF_MAX_SKEW_MS,
  PROOF_SCHEME,
  PROOF_VERSION,
  isPlausibleKey,
  parseProof,
  verifyProofSignature,
} from '../../protocol/proof.ts';
import { ed25519KeyProblem } from '../../protocol/keys.ts';
import { TrellisError, unauthenticated } from '../errors.ts';

/**
 * Checks the machine-key proof on a control request (protocol/proof.ts): well-formed, fresh,
 * signed over this very request, and never seen before. Returns the machine key (base64).
 */
export class MachineProofVerifier {
  /** nonce -> time it may be forgotten; insertion order is time order, so sweeping is cheap. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxRemembered = 1_000_000) {}

  verify(header: string | undefined, method: string, pathWithQuery: string, body: Uint8Array, now: number): string {
    if (!header)
      throw unauthenticated(
        'proof.missing',
        `this endpoint needs a machine-key proof: Authorization: ${PROOF_SCHEME} ${PROOF_VERSION}.<machineKey>.<time>.<nonce>.<signature>`,
      );
    const proof = parseProof(header);
    if (typeof proof === 'string') throw unauthenticated('proof.malformed', proof);
    // The keys that make every signature verify (small order) are refused by name; any other
    // bad key fails verifyProofSignature, which checks the key fully once the signature holds.
    if (!isPlausibleKey(proof.machineKey)) {
      const problem = ed25519KeyProblem(proof.machineKey)!;
      throw unauthenticated('proof.bad_key', `the proof's machine key ${problem.message}`);
    }
    const skew = now - proof.timestampMs;
    if (Math.abs(skew) > PROOF_MAX_SKEW_MS) {
      const off = `${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'behind' : 'ahead of'}`;
      throw unauthenticated(
        'proof.stale',
        `the proof's time is ${off} the server's clock (at most ${PROOF_MAX_SKEW_MS / 1000} s allowed); check the clock`,
      );
    }
    if (!verifyProofSignature(proof, method, pathWithQuery, body)) {
      throw unauthenticated('proof.bad_signature', 'the proof signature does not match this request and machine key');
    }
    const nonceKey = Buffer.from(proof.nonce).toString('base64');
    this.sweep(now);
    if (this.seen.has(nonceKey)) throw unauthenticated('proof.replayed', 'this proof was already used');
    if (this.seen.size >= this.maxRemembered) {
      throw new TrellisError('unavailable', 'proof.busy', 'too many requests in flight; retry shortly');
    }
    this.seen.set(nonceKey, now + 2 * PROOF_MAX_SKEW_MS);
    return Buffer.from(proof.machineKey).toString('base64');
  }

  private sweep(now: number): void {
    for (const [nonce, forgetAt] of this.seen) {
      // Kept through forgetAt itself: until then a proof with this nonce may still be fresh.
      if (forgetAt >= now) break;
      this.seen.delete(nonce);
    }
  }
}
