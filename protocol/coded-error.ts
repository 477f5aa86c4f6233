/**
 * The one base of every Trellis error, on the server, in the agent and CLI, and in the policy
 * library. An error has a stable `code`, spelled `area.snake_case` (`proof.bad_signature`), that
 * tools and callers switch on, and a `message` for people that says what is wrong and where.
 * Codes never change meaning; see docs/errors.md for every one of them.
 *
 * Each side declares its codes once, as data grouped by area (`codeCatalog`), so the compiler
 * checks every code thrown and a test can enumerate them all. Each kind of error is one subclass
 * of this base with its own `name` and its own areas' codes; there is no deeper hierarchy. An
 * error caused by a library error (openid-client, jose, zod, node:net, ...) keeps it as `cause`.
 */
export abstract class CodedError<Code extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whether the same operation may succeed later (a network blip, an overload); by default not. */
  get retryable(): boolean {
    return false;
  }
}

/** A code names its area before the dot. */
export type ErrorCode = `${string}.${string}`;

/**
 * Codes grouped by area, each area's codes starting with its name: the compiler refuses
 * `request: ['req.bad_json']`.
 */
export function codeCatalog<const T extends { readonly [A in keyof T]: readonly `${A & string}.${string}`[] }>(
  areas: T,
): T {
  return areas;
}

/** Every code of a catalog (or of some of its areas) as a union. */
export type CodeOf<
  T extends { readonly [A in keyof T]: readonly string[] },
  Area extends keyof T = keyof T,
> = T[Area][number];

/** Every code of a catalog as a list, area by area. */
export function allCodes(catalog: Readonly<Record<string, readonly string[]>>): string[] {
  return Object.values(catalog).flat();
}
