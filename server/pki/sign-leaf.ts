import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalid, TrellisError } from '../errors.ts';
import type { AuthorityRecord } from '../store/records.ts';
import { openssl, OpensslFailure, sealedKeyFile } from './openssl.ts';

export interface LeafOrder {
  /** PKCS#10 in PEM; only its key is used, after openssl checked its self-signature. */
  csr: string;
  /** DNS names, already checked as names this node may have; the first is the common name. */
  names: readonly string[];
  notBefore: number;
  notAfter: number;
}

export interface Leaf {
  certificate: X509Certificate;
  pem: string;
}

/**
 * Signs a server certificate with `openssl ca`, the one openssl command that takes exact
 * validity times (`x509 -days` counts whole days): the CSR must carry a valid self-signature
 * (proof that the caller holds the key), its subject and extensions are discarded, and the
 * certificate gets only what the server decided: the names, serverAuth, a random serial.
 * openssl's bookkeeping (config, index, a copy of the certificate) lives in a temporary folder
 * removed afterwards, where the CA key lies only sealed under a passphrase made for this call.
 */
export async function signLeaf(authority: AuthorityRecord, order: LeafOrder): Promise<Leaf> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-pki-'));
  try {
    await writeFile(join(dir, 'request.csr'), order.csr);
    await checkRequestKey(dir);
    await writeFile(join(dir, 'ca.pem'), authority.certificate);
    await writeFile(join(dir, 'index.txt'), '');
    await writeFile(join(dir, 'ca.cnf'), caConfig(dir, order.names));
    const key = await sealedKeyFile(dir, authority.privateKey);
    await openssl(
      [
        'ca',
        '-batch',
        '-config',
        join(dir, 'ca.cnf'),
        '-cert',
        join(dir, 'ca.pem'),
        '-keyfile',
        key.file,
        '-passin',
        'stdin',
        '-in',
        join(dir, 'request.csr'),
        '-subj',
        `/CN=${order.names[0]}`,
        '-startdate',
        generalizedTime(order.notBefore),
        '-enddate',
        generalizedTime(order.notAfter),
        '-extensions',
        'leaf',
        '-notext',
        '-out',
        join(dir, 'leaf.pem'),
      ],
      { input: key.passphrase },
    ).catch((err: unknown) => {
      throw err instanceof OpensslFailure ? signingFailed(err) : err;
    });
    // openssl ca exits 0 when it certified nothing (a request it would not sign).
    const pem = await readFile(join(dir, 'leaf.pem'), 'utf8').catch(() => {
      throw invalid('pki.bad_csr', 'body.csr: openssl would not certify the request', 'body.csr');
    });
    const certificate = new X509Certificate(pem);
    if (!certificate.verify(new X509Certificate(authority.certificate).publicKey)) {
      throw new TrellisError('unavailable', 'pki.unavailable', 'openssl made a certificate the CA did not sign');
    }
    return { certificate, pem: certificate.toString() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Reads the CSR (checking its self-signature) and refuses keys a TLS client should not have to
 * trust: EC on P-256 or P-384, Ed25519, or RSA of 2048 bits or more.
 */
async function checkRequestKey(dir: string): Promise<void> {
  const refused = () =>
    invalid('pki.bad_csr', 'body.csr is not a PKCS#10 request in PEM with a valid self-signature', 'body.csr');
  let spki: string;
  try {
    const out = await openssl(['req', '-in', join(dir, 'request.csr'), '-verify', '-noout', '-pubkey']);
    // OpenSSL 3.0 reports a failed self-signature check on stderr and still exits 0.
    if (!/verify OK/.test(out.stderr)) throw refused();
    spki = out.stdout;
  } catch (err) {
    if (!(err instanceof OpensslFailure)) throw err;
    throw refused();
  }
  let key: KeyObject;
  try {
    key = createPublicKey(spki);
  } catch {
    throw invalid('pki.bad_csr', 'body.csr: its public key cannot be read', 'body.csr');
  }
  const details = key.asymmetricKeyDetails ?? {};
  const ok =
    (key.asymmetricKeyType === 'ec' && ['prime256v1', 'secp384r1'].includes(details.namedCurve ?? '')) ||
    key.asymmetricKeyType === 'ed25519' ||
    (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048);
  if (!ok) {
    const what = [key.asymmetricKeyType, details.namedCurve ?? details.modulusLength].filter(Boolean).join(' ');
    throw invalid(
      'pki.weak_key',
      `body.csr: a ${what} key is not accepted; use EC P-256 or P-384, Ed25519, or RSA of 2048 bits or more`,
      'body.csr',
    );
  }
}

/** `openssl ca`'s configuration: where its bookkeeping goes and what a leaf certificate holds. */
function caConfig(dir: string, names: readonly string[]): string {
  // Names are checked DNS names (protocol/pki.ts), so they cannot break out of this syntax.
  return [
    '[ca]',
    'default_ca = mesh',
    '[mesh]',
    `database = ${join(dir, 'index.txt')}`,
    `new_certs_dir = ${dir}`,
    'rand_serial = yes',
    'unique_subject = no',
    'default_md = sha256',
    'policy = any_name',
    'copy_extensions = none',
    'email_in_dn = no',
    '[any_name]',
    'commonName = supplied',
    '[leaf]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${names.map((n) => `DNS:${n}`).join(',')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

/** `YYYYMMDDHHMMSSZ`, which `openssl ca -startdate/-enddate` reads. */
function generalizedTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]/g, '').replace('.000', '');
}

function signingFailed(err: OpensslFailure): TrellisError {
  if (/signature did not match|unable to load|bad signature/i.test(err.stderr)) {
    return invalid('pki.bad_csr', 'body.csr: openssl could not use the request', 'body.csr');
  }
  return new TrellisError('unavailable', 'pki.unavailable', 'the certificate could not be signed', { cause: err });
}
