import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Runner } from '../system/run.ts';

export interface KeyAndRequest {
  /** PKCS#8 PEM; stays on this machine. */
  key: string;
  /** PKCS#10 PEM for the server to sign; its subject is a placeholder, the server sets the names. */
  csr: string;
}

/**
 * A fresh P-256 key (Node's crypto) and a CSR for it (openssl, which Node cannot ask to make
 * one): the CSR's self-signature proves to the server that this node holds the key. openssl
 * reads keys only from files, so the key goes into a temporary one sealed under a passphrase
 * made for this call (handed over on stdin), and the folder is removed at once.
 */
export async function newKeyAndRequest(runner: Runner = run): Promise<KeyAndRequest> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const passphrase = randomBytes(32).toString('base64url');
  const dir = await mkdtemp(join(tmpdir(), 'trellis-csr-'));
  try {
    const file = join(dir, 'key.pem');
    const sealed = createPrivateKey(key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
    await writeFile(file, sealed, { mode: 0o600 });
    const args = ['req', '-new', '-key', file, '-passin', 'stdin', '-subj', '/CN=trellis-node'];
    const { stdout } = await runner('openssl', args, { input: passphrase });
    return { key, csr: stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
