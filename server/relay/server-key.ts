import { openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { RelayError } from './errors.ts';
import type { StaticIdentity } from './handshake.ts';
import { newPrivateKey, publicKeyOf } from './primitives.ts';

/**
 * The server's WireGuard static key pair, kept in the data directory so that agents' configured
 * peer stays valid across restarts. Created once with mode 0600; a key file that group or others
 * can read is refused rather than used, since whoever holds it can impersonate the server.
 */
export const SERVER_KEY_FILE = 'wireguard-server.key';

export interface ServerKey extends StaticIdentity {
  /** Base64, as it appears in the map. */
  publicKeyBase64: string;
}

export function loadOrCreateServerKey(dataDir: string): ServerKey {
  const path = join(dataDir, SERVER_KEY_FILE);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (fd !== undefined) {
    const privateKey = newPrivateKey();
    try {
      writeSync(fd, `${Buffer.from(privateKey).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
    return identityOf(privateKey);
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new RelayError('relay.key_exposed', `${path} is readable by group or others; run: chmod 600 ${path}`);
  }
  const text = readFileSync(path, 'utf8').trim();
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text) || bytes.length !== 32) {
    throw new RelayError(
      'relay.key_malformed',
      `${path} must hold one base64 X25519 private key (44 characters); delete it to make a new one (agents then need a new map)`,
    );
  }
  return identityOf(new Uint8Array(bytes));
}

function identityOf(privateKey: Uint8Array): ServerKey {
  const publicKey = publicKeyOf(privateKey);
  return { privateKey, publicKey, publicKeyBase64: Buffer.from(publicKey).toString('base64') };
}
