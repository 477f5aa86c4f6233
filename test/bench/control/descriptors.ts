import { readFileSync } from 'node:fs';

/** This process's soft limit on open files (`ulimit -n`), which children inherit. */
export function openFileLimit(): number {
  const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return line?.[1] && line[1] !== 'unlimited' ? Number(line[1]) : Number.MAX_SAFE_INTEGER;
}
