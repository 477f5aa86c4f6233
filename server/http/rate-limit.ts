import { TrellisError } from '../errors.ts';

/**
 * Token bucket per key (a source address): `perMinute` attempts, refilled continuously.
 * Buckets that have refilled completely are forgotten, so memory follows active sources.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Spends one attempt; throws when none is left. */
  take(key: string, now: number): void {
    this.check(key, now);
    this.refilled(key, now).tokens -= 1;
  }

  /** Throws when no attempt is left, without spending one (for limits on failures only). */
  check(key: string, now: number): void {
    if (this.refilled(key, now).tokens < 1) {
      throw new TrellisError(
        'rate_limited',
        'request.rate_limited',
        `too many attempts from ${key}; retry in a minute`,
      );
    }
  }

  private refilled(key: string, now: number): { tokens: number; at: number } {
    const rate = this.perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.forgetFull(now);
      bucket = { tokens: this.perMinute, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    return bucket;
  }

  private forgetFull(now: number): void {
    const rate = this.perMinute / 60_000;
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * rate >= this.perMinute) this.buckets.delete(key);
    }
  }
}
