import { spawn } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TrellisError } from '../errors.ts';

/**
 * Runs the `openssl` command line, which builds and signs the X.509 certificates: Node's crypto
 * parses certificates but cannot make one, and OpenSSL is the well-kept tool for the job. No
 * shell: arguments reach the program as they are.
 */
export interface OpensslOptions {
  /** Written to stdin, then closed (a passphrase read with `-passin stdin`). */
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** What openssl printed; some of its checks report failure there with exit code 0. */
export interface OpensslOutput {
  stdout: string;
  stderr: string;
}

/** The program to run; a test or a packager may point it elsewhere. */
const OPENSSL = process.env.TRELLIS_OPENSSL ?? 'openssl';

export function openssl(args: readonly string[], options: OpensslOptions = {}): Promise<OpensslOutput> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<OpensslOutput>((resolve, reject) => {
    const child = spawn(OPENSSL, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' ? 'is not installed; install OpenSSL (Debian: openssl)' : `cannot run: ${err.message}`;
      reject(new TrellisError('unavailable', 'pki.unavailable', `${OPENSSL} ${why}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      // The first line of openssl's complaint; it names what it read, never the key's bytes.
      const why = lastError(stderr) ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(new OpensslFailure(`openssl ${args[0]} failed: ${why}`, stderr));
    });
    child.stdin.on('error', () => {}); // openssl may exit before reading all of stdin; close reports it
    child.stdin.end(options.input ?? '');
  });
}

/** openssl ran and refused; `stderr` is kept for the caller to tell a bad input from a fault. */
export class OpensslFailure extends Error {
  override readonly name = 'OpensslFailure';
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

function lastError(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((l) => /error/i.test(l));
  const line = lines[0]?.trim();
  return line ? line.replace(/^[0-9A-F]+:error:[0-9A-F]+:/, '') : undefined;
}

/**
 * Writes `keyPem` into `dir` encrypted under a passphrase made for this one call, and returns
 * the file and the arguments that let openssl read it: `-passin stdin`, the passphrase going
 * in as `input`. openssl cannot read a key from a Node pipe (it opens files by name, and
 * /dev/stdin is a socket here), and this way the plain key never lies in a file.
 */
export async function sealedKeyFile(dir: string, keyPem: string): Promise<{ file: string; passphrase: string }> {
  const passphrase = randomBytes(32).toString('base64url');
  const sealed = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
  const file = join(dir, 'key.pem');
  await writeFile(file, sealed, { mode: 0o600 });
  return { file, passphrase };
}
