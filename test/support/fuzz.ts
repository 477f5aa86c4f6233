/**
 * How the property-based tests (`*.fuzz.test.ts`) run. In `npm test` every property runs a
 * small, fixed number of inputs from a fixed seed, so the suite stays fast and a failure
 * reproduces exactly. `npm run fuzz` (test/fuzz/main.ts) sets TRELLIS_FUZZ_RUNS to multiply the
 * runs, draws a fresh seed unless TRELLIS_FUZZ_SEED fixes one, and collects in
 * TRELLIS_FUZZ_REPORT how many inputs each property tried.
 */
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { CodedError } from '../../protocol/coded-error.ts';

const FIXED_SEED = 0x7e11;
const multiplier = positiveInteger(process.env.TRELLIS_FUZZ_RUNS) ?? 1;
const longRun = multiplier > 1;

export interface FuzzOptions<Ts> {
  /** Inputs tried in `npm test`; `npm run fuzz` multiplies this. */
  runs?: number;
  /** Inputs that once found a bug: always tried first, whatever the seed. */
  examples?: Ts[];
}

/** Checks a synchronous property under the suite's parameters and records how many inputs it tried. */
export function fuzz<Ts>(property: fc.IProperty<Ts>, options: FuzzOptions<Ts> = {}): void {
  record(fc.check(property, parameters(options)));
}

/** The same for a property whose predicate is async (servers, sockets). */
export async function fuzzAsync<Ts>(property: fc.IAsyncProperty<Ts>, options: FuzzOptions<Ts> = {}): Promise<void> {
  record(await fc.check(property, parameters(options)));
}

function parameters<Ts>(options: FuzzOptions<Ts>): fc.Parameters<Ts> {
  const seed = positiveInteger(process.env.TRELLIS_FUZZ_SEED) ?? (longRun ? Date.now() % 0x7fffffff : FIXED_SEED);
  return { seed, numRuns: (options.runs ?? 100) * multiplier, examples: options.examples ?? [] };
}

function record<Ts>(details: fc.RunDetails<Ts>): void {
  const name = expect.getState().currentTestName ?? 'unnamed property';
  const report = process.env.TRELLIS_FUZZ_REPORT;
  if (report !== undefined) {
    appendFileSync(report, JSON.stringify({ name, runs: details.numRuns, seed: details.seed }) + '\n');
  }
  if (details.failed) throw new Error(fc.defaultReportMessage(details), { cause: details.errorInstance });
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]*$/.test(value)) return undefined;
  return Number(value);
}

export type Edit =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; values: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'cut'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(0xffff) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), values: fc.array(fc.nat(0xffff), { maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

function applyEdits<T>(items: T[], edits: Edit[], item: (value: number) => T): T[] {
  const out = [...items];
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    if (e.kind === 'set' && at < out.length) out[at] = item(e.value);
    else if (e.kind === 'insert') out.splice(at, 0, ...e.values.map(item));
    else if (e.kind === 'delete') out.splice(at, e.count);
    else if (e.kind === 'cut') out.length = at;
  }
  return out;
}

/** One to four edits to a message: a byte changed, bytes inserted or deleted, the tail cut. */
export const edits: fc.Arbitrary<Edit[]> = fc.array(edit, { minLength: 1, maxLength: 4 });

export function applyByteEdits(bytes: Uint8Array, changes: Edit[]): Uint8Array {
  return new Uint8Array(applyEdits([...bytes], changes, (v) => v & 0xff));
}

/** Well-formed messages from `valid` with a few edits. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, edits).map(([bytes, changes]) => applyByteEdits(bytes, changes));
}

/** Well-formed, mutated and random bytes, so a property reaches past the first length check. */
export function datagrams(valid: fc.Arbitrary<Uint8Array>, maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.oneof(valid, mutatedBytes(valid), fc.uint8Array({ maxLength }));
}

// Edits to text favour the characters that carry structure in the formats parsed here.
const STRUCTURE = '{}[]":,/*\\\n\r\t =.-_@#0123456789eE+\u0000\u00e9\u2028\ud800';

/** Text from `valid` with one to four edits (characters changed, inserted, deleted, the tail cut). */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, edits)
    .map(([text, changes]) =>
      applyEdits([...text], changes, (v) =>
        v % 3 === 0 ? String.fromCharCode(v) : STRUCTURE[v % STRUCTURE.length]!,
      ).join(''),
    );
}

const CODE = /^[a-z][a-z0-9]*(\.[a-z0-9]+(_[a-z0-9]+)*)+$/;

/**
 * `err` is a typed refusal with an `area.snake_case` code: a CodedError (the one base of Trellis
 * errors), or while an area still has its own class, a subclass of Error (never Error itself).
 */
export function expectCodedError(err: unknown, area?: string): void {
  expect(err).toBeInstanceOf(Error);
  const e = err as Error & { code?: unknown };
  if (!(err instanceof CodedError)) expect([Error, TypeError, RangeError, SyntaxError]).not.toContain(e.constructor);
  expect(typeof e.code === 'string' && CODE.test(e.code), `code ${String(e.code)} of ${e.message}`).toBe(true);
  if (area !== undefined) expect(String(e.code).split('.')[0]).toBe(area);
  expect(e.message.length).toBeGreaterThan(0);
}

/** Runs `f`; when it throws, what it throws must be a typed refusal. Returns the result or the error. */
export function outcome<T>(f: () => T, area?: string): { value: T } | { error: Error } {
  try {
    return { value: f() };
  } catch (err) {
    expectCodedError(err, area);
    return { error: err as Error };
  }
}
