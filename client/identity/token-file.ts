import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CredentialSourceError } from './errors.ts';
import { checkJwtShape, MAX_TOKEN_BYTES } from './jwt-shape.ts';
import type { TokenSource } from './token-source.ts';

/**
 * A token kept fresh in a file by someone else: a Kubernetes projected service-account volume
 * (the kubelet rewrites it at 80% of its lifetime, by swapping the `..data` symlink of the
 * volume's directory) or spiffe-helper's JWT-SVID output. The directory is watched rather than
 * the file, because a symlink swap replaces the inode a file watch would follow; a poll catches
 * whatever events are missed (network filesystems, overlay quirks).
 */
export class TokenFile implements TokenSource {
  readonly description: string;

  constructor(
    readonly path: string,
    readonly pollMs = 5_000,
  ) {
    this.description = `token file ${path}`;
  }

  read(): Promise<string> {
    return readTokenFile(this.path);
  }

  watch(onChange: () => void): () => void {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const name = basename(this.path);
    try {
      watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        // The file itself, or the kubelet's `..data` swap; anything else in the directory is noise.
        if (file !== null && file !== name && !file.startsWith('..')) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, 50); // a swap is several events; read once they settle
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No events here (the directory is missing, or watching is not supported): the poll serves.
    }
    return () => {
      clearTimeout(timer);
      watcher?.close();
    };
  }
}

/** Reads and checks a token file; every failure names the file and says what is wrong. */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      if (!(await handle.stat()).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      // Read one byte past the limit, so an oversized file is told from one exactly at it.
      const buf = Buffer.alloc(MAX_TOKEN_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_TOKEN_BYTES)
        throw new CredentialSourceError(
          'token.too_large',
          `token file ${path} is over ${MAX_TOKEN_BYTES} bytes; is it really a token?`,
        );
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof CredentialSourceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new CredentialSourceError('token.missing', `token file ${path} does not exist`, { cause: err });
    throw new CredentialSourceError('token.unreadable', `cannot read token file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const token = text.trim();
  if (token.length === 0) throw new CredentialSourceError('token.empty', `token file ${path} is empty`);
  checkJwtShape(token, `token file ${path}`);
  return token;
}
