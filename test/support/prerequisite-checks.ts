import { execFileSync } from 'node:child_process';
import { canRunPostgres } from './postgres-binaries.ts';

/**
 * The machine's real parts a suite or a benchmark needs (root, wireguard-go, nft, chromium, ...),
 * checked without vitest, so benchmarks (plain scripts) can refuse to start with the same hints.
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

/** PostgreSQL's server programs (initdb, postgres) and, as root, a `postgres` user to run them as. */
export const hasPostgres = (): Prerequisite => ({
  what: 'PostgreSQL',
  ok: canRunPostgres,
  hint: 'install it: sudo bash deploy/install-system-deps.sh (Debian package postgresql)',
});

/** What is missing, one "X missing: how to get it" per part; empty when all is there. */
export function missing(prereqs: readonly Prerequisite[]): string[] {
  return prereqs.filter((p) => !p.ok()).map((p) => `${p.what} missing: ${p.hint}`);
}
