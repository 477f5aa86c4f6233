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
import type { ProofNonceRepository } from '../store/store.ts';

/**
 * Checks the machine-key proof on a control request (protocol/proof.ts): well-formed, fresh,
 * signed over this very request, and never seen before. Returns the machine key (base64).
 *
 * "Never seen" is first this process's memory (a replay to the same replica costs no database
 * round trip), then, in `verifyShared`, the store's nonces, which every replica shares: a proof
 * captured on its way to one replica and replayed to another is refused there too.
 *
 * The full check of the machine key (prime-order subgroup: a scalar multiplication, about a
 * millisecond, for a key this process has not seen) is skipped in `verifyShared` for a key the
 * store holds for a node: it passed that check when the node joined, on whichever replica. That
 * is what a replica pays for each node of a dead replica that reconnects to it.
 */
export class MachineProofVerifier {
  /** nonce -> time it may be forgotten; insertion order is time order, so sweeping is cheap. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxRemembered = 1_000_000,
    private readonly shared?: ProofNonceRepository,
  ) {}

  /**
   * verify(), then the nonce taken in the shared store, atomically: its first use anywhere wins.
   * `registered` finds the node holding the machine key (while the nonce is taken); a key no
   * node holds gets the full key check.
   */
  async verifyShared<T>(
    header: string | undefined,
    method: string,
    pathWithQuery: string,
    body: Uint8Array,
    now: number,
    registered?: (machineKey: string) => Promise<T | undefined>,
  ): Promise<{ machineKey: string; registered?: T }> {
    const proof = this.check(header, method, pathWithQuery, body, now, { checkKey: registered === undefined });
    const [taken, found] = await Promise.all([
      this.shared ? this.shared.use(proof.nonce, proof.forgetAt, now) : true,
      registered?.(proof.machineKey),
    ]);
    if (!taken) throw replayed();
    if (registered && found === undefined && ed25519KeyProblem(proof.machineKeyBytes)) throw badSignature();
    return { machineKey: proof.machineKey, ...(found !== undefined && { registered: found }) };
  }

  /** The checks, and the nonce refused if this process saw it; no store. */
  verify(header: string | undefined, method: string, pathWithQuery: string, body: Uint8Array, now: number): string {
    return this.check(header, method, pathWithQuery, body, now, { checkKey: true }).machineKey;
  }

  private check(
    header: string | undefined,
    method: string,
    pathWithQuery: string,
    body: Uint8Array,
    now: number,
    options: { checkKey: boolean },
  ): { machineKey: string; machineKeyBytes: Uint8Array; nonce: Uint8Array; forgetAt: number } {
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
    if (!verifyProofSignature(proof, method, pathWithQuery, body, options)) throw badSignature();
    const nonceKey = Buffer.from(proof.nonce).toString('base64');
    this.sweep(now);
    if (this.seen.has(nonceKey)) throw replayed();
    if (this.seen.size >= this.maxRemembered) {
      throw new TrellisError('unavailable', 'proof.busy', 'too many requests in flight; retry shortly');
    }
    // Twice the skew: past it no replica whose clock is within the skew of this one takes the proof.
    const forgetAt = now + 2 * PROOF_MAX_SKEW_MS;
    this.seen.set(nonceKey, forgetAt);
    return {
      machineKey: Buffer.from(proof.machineKey).toString('base64'),
      machineKeyBytes: proof.machineKey,
      nonce: proof.nonce,
      forgetAt,
    };
  }

  private sweep(now: number): void {
    for (const [nonce, forgetAt] of this.seen) {
      // Kept through forgetAt itself: until then a proof with this nonce may still be fresh.
      if (forgetAt >= now) break;
      this.seen.delete(nonce);
    }
  }
}

const replayed = () => unauthenticated('proof.replayed', 'this proof was already used');
// A key that fails the full check makes no signature valid, whatever the equation says.
const badSignature = () =>
  unauthenticated('proof.bad_signature', 'the proof signature does not match this request and machine key');
