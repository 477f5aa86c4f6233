/**
 * An agent error with a stable code (`area.reason`) beside its human message. Each area declares
 * its codes as a union and subclasses this with its own name, so callers can tell the areas
 * apart and match on codes the compiler checks.
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
