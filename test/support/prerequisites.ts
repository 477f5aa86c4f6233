import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

/**
 * Suites that need the machine's real parts (root, wireguard-go, nft, chromium, ...) declare
 * them here. Outside CI a missing part skips the suite with a message that says how to enable
 * it; with CI=true it fails, so a green CI always means the suite ran.
 */
export interface Prerequisite {
  what: string;
  ok: () => boolean;
  hint: string;
}

export const isRoot = (): Prerequisite => ({
  what: 'root',
  ok: () => process.getuid?.() === 0,
  hint: 'run the tests as root (sudo npm test)',
});

export const hasCommand = (cmd: string, pkg = cmd): Prerequisite => ({
  what: cmd,
  ok: () => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  },
  hint: `install it: sudo bash deploy/install-system-deps.sh (Debian package ${pkg})`,
});

/** `describe` that runs only when every prerequisite holds (see above for what happens if not). */
export function describeWith(prereqs: Prerequisite[], name: string, body: () => void): void {
  const missing = prereqs.filter((p) => !p.ok());
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const why = missing.map((p) => `${p.what} missing: ${p.hint}`).join('; ');
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`prerequisites missing in CI: ${why}`);
    });
    return;
  }
  console.warn(`skipping "${name}": ${why}`);
  describe.skipIf(true)(name, body);
}
