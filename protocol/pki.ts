import { z } from 'zod';

/**
 * The mesh's certificate authority, seen from a node (server/pki/README.md explains the design).
 * The coordination server keeps one CA whose name constraints allow only names under the mesh
 * domain. A node asks it for a short-lived certificate for its own mesh name (or for a service
 * name it serves) with a CSR whose key never leaves the node, and fetches the CA certificates to
 * hand to clients (`trellis kubeconfig` embeds them). Both calls are proved with the machine key.
 */

/** A PEM block is a few hundred bytes for an EC key, under 8 KiB for any sane RSA one. */
const MAX_PEM = 16_384;

/** A DNS name as a certificate may carry it: lowercase labels, no wildcard, no trailing dot. */
export const CertificateName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a fully qualified DNS name in lowercase, such as web.mesh.trellis.internal (no wildcard)',
  );

/** `POST /api/v1/machine/certificate`. */
export const CertificateRequest = z.strictObject({
  /** A PKCS#10 certificate signing request in PEM; its subject and extensions are ignored. */
  csr: z.string().min(1).max(MAX_PEM),
  /**
   * The DNS names the certificate is for, each `<node name>.<domain>` or `<service>.<domain>`
   * for a service this node may serve. The first is the subject's common name.
   */
  names: z.array(CertificateName).min(1).max(8),
});
export type CertificateRequest = z.infer<typeof CertificateRequest>;

export const CertificateResponse = z.object({
  /** The leaf certificate in PEM, signed by the current CA. */
  certificate: z.string(),
  /** Serial number in hex, as the audit trail names it. */
  serial: z.string(),
  names: z.array(z.string()),
  notBefore: z.iso.datetime({ offset: true }),
  notAfter: z.iso.datetime({ offset: true }),
  /** The CA certificates clients should trust (the trust bundle at the time of issue). */
  authorities: z.array(z.string()).min(1),
});
export type CertificateResponse = z.infer<typeof CertificateResponse>;

/** `GET /api/v1/machine/authorities`: the trust bundle, newest CA first. */
export const TrustBundle = z.object({
  /** The mesh domain the CA's name constraints permit (and nothing else). */
  domain: z.string(),
  authorities: z.array(z.string()).min(1),
});
export type TrustBundle = z.infer<typeof TrustBundle>;

/**
 * One CA as the admin API shows it (`GET /api/v1/authorities`). `pending`: in the trust bundle,
 * signs from `signsFrom`; `signing`: the one that signs now; `retired`: signs nothing, trusted
 * until its last leaf ends; `expired`: out of the bundle, kept for the record.
 */
export const AuthorityView = z.object({
  id: z.string(),
  state: z.enum(['pending', 'signing', 'retired', 'expired']),
  /** SHA-256 of the CA certificate (DER), colon-separated hex, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: z.string(),
  /** The CA certificate's own validity. */
  notBefore: z.iso.datetime({ offset: true }),
  notAfter: z.iso.datetime({ offset: true }),
  signsFrom: z.iso.datetime({ offset: true }),
  retiredAt: z.iso.datetime({ offset: true }).optional(),
  /** Until when the trust bundle carries it. */
  trustedUntil: z.iso.datetime({ offset: true }),
  inBundle: z.boolean(),
});
export type AuthorityView = z.infer<typeof AuthorityView>;

/** Longest overlap a rotation may ask for: a year. */
const MAX_GRACE_SECONDS = 365 * 24 * 3600;

/** `POST /api/v1/authorities/rotate`. */
export const RotateAuthorityRequest = z.strictObject({
  /**
   * How long the new CA is only trusted before it signs: time for users to re-run
   * `trellis kubeconfig`. 0 signs with it at once (old kubeconfigs then fail at the proxy's next renewal).
   */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_GRACE_SECONDS)
    .default(7 * 24 * 3600),
});
export type RotateAuthorityRequest = z.infer<typeof RotateAuthorityRequest>;

/** `POST /api/v1/authorities/finish`. */
export const FinishRotationRequest = z.strictObject({
  /** Switch even though the overlap has not ended (kubeconfigs without the new CA stop working). */
  force: z.boolean().default(false),
});
export type FinishRotationRequest = z.infer<typeof FinishRotationRequest>;
