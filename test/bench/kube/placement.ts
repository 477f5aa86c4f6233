import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * Which cores the benchmark's processes run on. `taskset -a` sets every thread of a process
 * (V8's collector threads included), so a pinned process cannot spill onto the other core.
 */
export function pin(pids: readonly number[], cpu: number): void {
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Every process back on every core. */
export function float(pids: readonly number[]): void {
  const all = `0-${cpus().length - 1}`;
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
}

/** Pinning needs two cores and `taskset` (util-linux): the reason it cannot be done here, or undefined. */
export function cannotPin(): string | undefined {
  if (cpus().length < 2) return 'one core only';
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'taskset (util-linux) is missing';
  }
}
