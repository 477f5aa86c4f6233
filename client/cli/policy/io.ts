/** What the policy commands touch outside themselves; tests pass their own. */
import { readFile, writeFile } from 'node:fs/promises';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
}

export const processIO: CliIO = {
  stdout: (text) => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  stderr: (text) => {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
};

/** A problem the user can fix, reported as one line and exit status 1 (2 for usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
