/**
 * What a pod's container runs for `exec` (and `attach`, which joins its main process), whatever
 * carries it (WebSocket channels, exec.ts; SPDY streams, exec-spdy.ts). There are no
 * containers here, so the stand-in runs a few built-in commands as a container would:
 * `echo ARGS`, `cat` (stdin to stdout until stdin closes: also every pod's main process),
 * `hostname` (the pod's name), `true`, `false`; any other is "not found" with exit code 127.
 */
export interface ProgramIo {
  /** Output: 1 stdout, 2 stderr. */
  write(channel: 1 | 2, data: string | Buffer): void;
  /** Calls back with each chunk of stdin, then with null once it is closed. */
  onInput(listener: (data: Buffer | null) => void): void;
  /** The end, with the Status the kubelet reports for the exit code. */
  exit(status: ExitStatus): void;
}

export type ExitStatus = ReturnType<typeof exitStatus>;

export function runProgram(pod: string, command: string[], io: ProgramIo): void {
  const [program, ...args] = command;
  const exit = (code: number) => io.exit(exitStatus(code));
  switch (program) {
    case 'echo':
      io.write(1, `${args.join(' ')}\n`);
      return exit(0);
    case 'hostname':
      io.write(1, `${pod}\n`);
      return exit(0);
    case 'true':
      return exit(0);
    case 'false':
      return exit(1);
    case 'cat':
      return io.onInput((data) => (data === null ? exit(0) : io.write(1, data)));
    default:
      io.write(2, `stand-in: ${program ?? ''}: command not found\n`);
      return exit(127);
  }
}

/** The `Status` the kubelet sends as a command's end: Success, or NonZeroExitCode with the code. */
function exitStatus(code: number) {
  return code === 0
    ? { metadata: {}, status: 'Success' }
    : {
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: exit status ${code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
      };
}
