import { closeSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerKeyRepository } from '../store/store.ts';
import { RelayError } from './errors.ts';
import type { StaticIdentity } from './handshake.ts';
import { newPrivateKey, publicKeyOf } from './primitives.ts';

/**
 * The server's WireGuard static key pair: the relay's identity in every agent's map. Replicas on
 * one database are one relay to the agents (a node moving to another replica keeps its relay
 * peer), so the key lives in the store, stored once by whichever replica starts first.
 *
 * The data directory keeps a copy (mode 0600, in the form `wg` uses) that always mirrors the
 * key in use. A deployment from before the key was in the store offers its file's key, so its
 * agents' relay peer stays the same; a key file that group or others can read is refused rather
 * than used, since whoever holds it can impersonate the server.
 */
export const SERVER_KEY_FILE = 'wireguard-server.key';
/** Its name in the store's server keys. */
export const RELAY_KEY_NAME = 'relay-wireguard';

export interface ServerKey extends StaticIdentity {
  /** Base64, as it appears in the map. */
  publicKeyBase64: string;
}

export async function loadServerKey(keys: ServerKeyRepository, dataDir: string, now: number): Promise<ServerKey> {
  const path = join(dataDir, SERVER_KEY_FILE);
  const local = readKeyFile(path);
  const candidate = Buffer.from(local ?? newPrivateKey()).toString('base64');
  const stored = await keys.addFirst(RELAY_KEY_NAME, candidate, now);
  const bytes = Buffer.from(stored, 'base64');
  if (bytes.length !== 32) {
    throw new RelayError(
      'relay.key_malformed',
      `the store's relay key (${RELAY_KEY_NAME}) is not a 32-byte X25519 key`,
    );
  }
  if (local === undefined || Buffer.from(local).toString('base64') !== stored) writeKeyFile(path, stored);
  return identityOf(new Uint8Array(bytes));
}

/** The key in the file; undefined when there is none. */
function readKeyFile(path: string): Uint8Array | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    throw new RelayError('relay.key_exposed', `${path} is readable by group or others; run: chmod 600 ${path}`);
  }
  const text = readFileSync(path, 'utf8').trim();
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text) || bytes.length !== 32) {
    throw new RelayError(
      'relay.key_malformed',
      `${path} must hold one base64 X25519 private key (44 characters); delete it to use the store's key (or make a new one, and agents then need a new map)`,
    );
  }
  return new Uint8Array(bytes);
}

/** Written beside, then renamed over: the file is never half a key, never readable by others. */
function writeKeyFile(path: string, base64: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${base64}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

function identityOf(privateKey: Uint8Array): ServerKey {
  const publicKey = publicKeyOf(privateKey);
  return { privateKey, publicKey, publicKeyBase64: Buffer.from(publicKey).toString('base64') };
}
