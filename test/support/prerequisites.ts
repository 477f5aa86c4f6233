import { describe } from 'vitest';
import { missing, type Prerequisite } from './prerequisite-checks.ts';

/**
 * Suites that need the machine's real parts declare them (prerequisite-checks.ts). Outside CI
 * a missing part skips the suite with a message that says how to enable it; with CI=true it
 * fails, so a green CI always means the suite ran.
 */
export { hasCommand, hasPostgres, isRoot, type Prerequisite } from './prerequisite-checks.ts';

/** `describe` that runs only when every prerequisite holds (see above for what happens if not). */
export function describeWith(prereqs: Prerequisite[], name: string, body: () => void): void {
  const lacking = missing(prereqs);
  if (lacking.length === 0) {
    describe(name, body);
    return;
  }
  const why = lacking.join('; ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`prerequisites missing in CI: ${why}`);
    });
    return;
  }
  console.warn(`skipping "${name}": ${why}`);
  describe.skipIf(true)(name, body);
}
