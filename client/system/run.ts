import { spawn } from 'node:child_process';
import { CommandError } from './errors.ts';

/**
 * Runs system programs (ip, nft, wg, ...) without a shell: arguments go to the program as they
 * are, so no value from the network can turn into shell syntax. A command can target a network
 * namespace; `ip netns exec` then enters it before running the program.
 */
export interface RunOptions {
  /** Network namespace to run in; absent = the current one. */
  netns?: string;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
  /** Killed (SIGKILL) after this long. Default 10 s. */
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** The seam other modules take, so a caller can wrap or record commands. */
export type Runner = (program: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** The argv that runs `program args` in `netns` (or as is without one). */
export function commandLine(program: string, args: readonly string[], netns?: string): string[] {
  return netns === undefined ? [program, ...args] : ['ip', 'netns', 'exec', netns, program, ...args];
}

export const run: Runner = (program, args, options = {}) => {
  const argv = commandLine(program, args, options.netns);
  const shown = argv.join(' ');
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code === 'ENOENT' ? 'system.command_not_found' : 'system.command_failed';
      reject(new CommandError(code, `cannot run "${shown}": ${err.message}`, argv, null, '', { cause: err }));
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new CommandError(
            'system.command_timeout',
            `"${shown}" did not finish within ${timeoutMs} ms`,
            argv,
            null,
            stderr,
          ),
        );
      } else if (exitCode === 0) {
        resolve({ stdout, stderr });
      } else {
        // ip netns exec reports a missing program as exit 255 with "No such file or directory".
        const missing =
          options.netns !== undefined && exitCode === 255 && /exec of ".*" failed: No such file/.test(stderr);
        const why = stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${exitCode}`);
        reject(
          new CommandError(
            missing ? 'system.command_not_found' : 'system.command_failed',
            `"${shown}" failed: ${why}`,
            argv,
            exitCode,
            stderr,
          ),
        );
      }
    });
    // A program that exits without reading stdin makes the write fail with EPIPE; its exit status says more.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
};
