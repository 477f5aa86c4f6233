import { buildBindingResponse, parseBindingRequest } from '../../protocol/stun.ts';
import { TokenBucket } from './token-bucket.ts';
import type { UdpAddress } from './udp-address.ts';

/**
 * Answers STUN Binding requests (RFC 8489) with the sender's address as seen here, on the relay
 * port and on the separate STUN port (two ports let a client see whether its NAT maps by
 * destination). A source address could be forged to aim answers at someone else, so answers
 * are limited per source IP (a response is at most ~30 bytes longer than the request), and the
 * table of sources is bounded. Anything that is not a well-formed Binding request is dropped.
 */
interface StunLimits {
  /** Answers per second to one source IP, and the burst above it. */
  perSourceRate: number;
  perSourceBurst: number;
  /** Source IPs tracked at once; new ones are refused while full (until the sweep). */
  maxSources: number;
}

const DEFAULT_LIMITS: StunLimits = { perSourceRate: 10, perSourceBurst: 20, maxSources: 10_000 };

export class StunResponder {
  private readonly limits: StunLimits;
  private readonly buckets = new Map<string, TokenBucket>();
  private sweptAt = 0;
  readonly counts = { answered: 0, refused: 0 };

  constructor(
    private readonly now: () => number,
    limits: Partial<StunLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** The response to send back to `from`, or undefined to drop the datagram. */
  answer(packet: Uint8Array, from: UdpAddress): Uint8Array | undefined {
    const transactionId = parseBindingRequest(packet);
    if (!transactionId) return undefined;
    if (!this.allow(from.address)) {
      this.counts.refused += 1;
      return undefined;
    }
    const response = buildBindingResponse(transactionId, from);
    if (response) this.counts.answered += 1;
    return response;
  }

  private allow(ip: string): boolean {
    const now = this.now();
    // Sources whose buckets are full again are forgotten, at most once a second (no timer).
    if (now - this.sweptAt >= 1_000) {
      this.sweptAt = now;
      for (const [known, bucket] of this.buckets) if (bucket.idle(now)) this.buckets.delete(known);
    }
    let bucket = this.buckets.get(ip);
    if (!bucket) {
      if (this.buckets.size >= this.limits.maxSources) return false;
      bucket = new TokenBucket(this.limits.perSourceRate, this.limits.perSourceBurst, now);
      this.buckets.set(ip, bucket);
    }
    return bucket.take(1, now);
  }
}
