import { expect } from 'vitest';
import type { CodedError } from '../../protocol/coded-error.ts';
import { TrellisError } from '../../server/errors.ts';

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** Runs `f`, which must throw a `type` (by default a TrellisError), and returns it for the caller's assertions. */
export function refusal<E extends CodedError = TrellisError>(
  f: () => unknown,
  what = 'the input',
  type: ErrorClass<E> = TrellisError as unknown as ErrorClass<E>,
): E {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected ${what} to be refused`);
}
