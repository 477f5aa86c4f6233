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
