import { X509Certificate } from 'node:crypto';
import type { AuthorityView } from '../../protocol/pki.ts';
import { isoTime } from '../../protocol/time.ts';
import type { AuthorityStatus } from './authority.ts';

/** A CA as the admin API and `trellis-server ca list` show it: no key, the certificate's fingerprint. */
export function authorityView(a: AuthorityStatus, now: number): AuthorityView {
  const cert = new X509Certificate(a.certificate);
  return {
    id: a.id,
    state: a.state,
    fingerprint: cert.fingerprint256,
    notBefore: isoTime(Date.parse(cert.validFrom)),
    notAfter: isoTime(a.notAfter),
    signsFrom: isoTime(a.signsFrom),
    ...(a.retiredAt !== undefined && { retiredAt: isoTime(a.retiredAt) }),
    trustedUntil: isoTime(a.trustedUntil),
    inBundle: a.trustedUntil > now,
  };
}

/** What an audit event says of a CA a rotation step touched. */
export function authorityNote(a: AuthorityView): string {
  return `CA ${a.id} (sha256 ${a.fingerprint}): ${a.state}, signs from ${a.signsFrom}`;
}
