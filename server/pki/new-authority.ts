import { generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import type { AuthorityRecord } from '../store/records.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openssl, sealedKeyFile } from './openssl.ts';

/**
 * A new certificate authority for the mesh domain: a P-256 key made by Node's crypto and a
 * self-signed certificate made by openssl from it.
 *
 * The certificate may sign only server certificates for names under `domain`: its name
 * constraints (RFC 5280 4.2.1.10, marked critical so a verifier that cannot read them refuses
 * the chain) permit DNS names in the domain and exclude every IP address, and its path length
 * is 0, so it cannot make another CA. kubectl (Go's crypto/x509) and OpenSSL enforce both: a
 * certificate this CA signed for any other name fails verification even if the key leaks.
 */
export async function newAuthority(domain: string, days: number, now: number): Promise<AuthorityRecord> {
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) throw new TypeError(`not a DNS domain: ${domain}`);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const dir = await mkdtemp(join(tmpdir(), 'trellis-pki-'));
  let pem: string;
  try {
    const sealed = await sealedKeyFile(dir, keyPem);
    ({ stdout: pem } = await openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        sealed.file,
        '-passin',
        'stdin',
        '-sha256',
        '-days',
        String(days),
        '-subj',
        `/O=Trellis/CN=Trellis mesh CA for ${domain}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-addext',
        `nameConstraints=critical,permitted;DNS:${domain},excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::`,
        '-addext',
        'subjectKeyIdentifier=hash',
      ],
      { input: sealed.passphrase },
    ));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const certificate = new X509Certificate(pem);
  return {
    id: `ca-${randomUUID()}`,
    certificate: certificate.toString(),
    privateKey: keyPem,
    // What the certificate itself says, which is what every verifier honours.
    notAfter: Date.parse(certificate.validTo),
    createdAt: now,
  };
}
