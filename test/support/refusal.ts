import { expect } from 'vitest';
import { TrellisError } from '../../server/errors.ts';

/** Runs `f`, which must throw a TrellisError, and returns it for the caller's assertions. */
export function refusal(f: () => unknown, what = 'the input'): TrellisError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(TrellisError);
    return err as TrellisError;
  }
  throw new Error(`expected ${what} to be refused`);
}
