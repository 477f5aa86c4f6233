import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where PostgreSQL's server programs are: Debian keeps them out of PATH, in
 * /usr/lib/postgresql/<major>/bin (the newest major wins); elsewhere initdb on PATH.
 */
export function postgresBinDir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((d) => /^\d+$/.test(d) && existsSync(join(debian, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(debian, majors[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  return undefined;
}

/**
 * The user the cluster runs as: PostgreSQL refuses root, so as root the `postgres` system user
 * (the Debian package creates it); undefined when the tests already run as someone else.
 */
export function postgresRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** True when a cluster can be started here: the binaries, and a non-root user to run them as. */
export function canRunPostgres(): boolean {
  if (!postgresBinDir()) return false;
  try {
    postgresRunAs();
    return true;
  } catch {
    return false;
  }
}
