import { describe, expect, it } from 'vitest';
import { TrellisError } from '../../../server/errors.ts';
import { RateLimiter } from '../../../server/http/rate-limit.ts';
import { httpStatus } from '../../../server/http/error-handler.ts';

const T0 = 1_800_000_000_000;

function refused(f: () => void): TrellisError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(TrellisError);
    return err as TrellisError;
  }
  throw new Error('expected the attempt to be refused');
}

/** How many attempts succeed, trying `tries` times at one instant. */
function allowed(limiter: RateLimiter, key: string, now: number, tries = 100): number {
  let ok = 0;
  for (let i = 0; i < tries; i++) {
    try {
      limiter.take(key, now);
      ok++;
    } catch {
      // refused
    }
  }
  return ok;
}

describe('rate limiter (token bucket per source)', () => {
  it('allows perMinute attempts at once, then refuses with 429 request.rate_limited naming the source', () => {
    const limiter = new RateLimiter(5);
    for (let i = 0; i < 5; i++) limiter.take('198.51.100.7', T0);
    const err = refused(() => limiter.take('198.51.100.7', T0));
    expect(err.code).toBe('request.rate_limited');
    expect(httpStatus(err)).toBe(429);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('198.51.100.7');
  });

  it('keeps sources apart', () => {
    const limiter = new RateLimiter(3);
    expect(allowed(limiter, 'a', T0)).toBe(3);
    expect(allowed(limiter, 'b', T0)).toBe(3);
  });

  it('refills continuously: one attempt per 60/perMinute seconds', () => {
    const limiter = new RateLimiter(6); // one every 10 s
    expect(allowed(limiter, 'a', T0)).toBe(6);
    expect(allowed(limiter, 'a', T0 + 9_999)).toBe(0);
    expect(allowed(limiter, 'a', T0 + 10_000)).toBe(1);
    expect(allowed(limiter, 'a', T0 + 30_000)).toBe(2);
  });

  it('never saves up more than perMinute attempts', () => {
    const limiter = new RateLimiter(4);
    limiter.take('a', T0);
    expect(allowed(limiter, 'a', T0 + 3_600_000)).toBe(4);
  });

  it('refused attempts cost nothing, so hammering does not extend the wait', () => {
    const limiter = new RateLimiter(2); // one every 30 s
    expect(allowed(limiter, 'a', T0)).toBe(2);
    expect(allowed(limiter, 'a', T0 + 1_000, 1_000)).toBe(0);
    expect(allowed(limiter, 'a', T0 + 30_000)).toBe(1);
  });

  it('check() refuses when nothing is left without spending an attempt', () => {
    const limiter = new RateLimiter(2);
    limiter.check('a', T0);
    limiter.check('a', T0);
    limiter.check('a', T0);
    expect(allowed(limiter, 'a', T0)).toBe(2);
    expect(refused(() => limiter.check('a', T0)).code).toBe('request.rate_limited');
  });

  it('forgets idle sources but never one that is still limited', () => {
    const limiter = new RateLimiter(3);
    for (let i = 0; i < 10_050; i++) limiter.take(`idle-${i}`, T0);
    expect(allowed(limiter, 'busy', T0 + 60_000)).toBe(3);
    // New sources arriving now make the limiter forget the (refilled) idle ones.
    for (let i = 0; i < 10; i++) limiter.take(`new-${i}`, T0 + 60_000);
    expect(allowed(limiter, 'busy', T0 + 60_000)).toBe(0);
  });
});
