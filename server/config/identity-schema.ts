import { z } from 'zod';
import { trustDomainProblem } from '../identity/spiffe/spiffe-id.ts';

/** Identity settings (YAML): OIDC providers for people, SPIFFE and Kubernetes for workloads. */

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a short lowercase name (a-z, 0-9, -)');
const HttpsUrl = z.url().refine((u) => u.startsWith('https://'), 'must be an https:// URL');

export const OidcProviderConfig = z.strictObject({
  /** Names the provider in `trellis up --provider NAME`, the audit trail and user subjects. */
  name: Name.default('default'),
  /** Issuer URL; its `/.well-known/openid-configuration` is read at start. */
  issuer: z.url(),
  clientId: z.string().min(1),
  /** Confidential clients; absent for a public client (PKCE only). */
  clientSecret: z.string().min(1).optional(),
  /** A file holding the client secret, so it stays out of the config file. */
  clientSecretFile: z.string().min(1).optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
  /** Which claims carry what (from the ID token, then the userinfo endpoint). */
  claims: z
    .strictObject({
      email: z.string().default('email'),
      emailVerified: z.string().default('email_verified'),
      name: z.string().default('name'),
      groups: z.string().default('groups'),
    })
    .prefault({}),
  /** Who may sign in: when any list is set, a person must match one entry of one list. */
  allowedDomains: z.array(z.string().min(1)).default([]),
  allowedUsers: z.array(z.string().min(1)).default([]),
  allowedGroups: z.array(z.string().min(1)).default([]),
  requireEmailVerified: z.boolean().default(true),
  /**
   * `login` makes the provider authenticate the person again even when the browser already
   * has a session there, so approving a device is always a fresh sign-in (and a link sent to
   * someone else's signed-in browser cannot approve silently).
   */
  prompt: z.enum(['login', 'consent', 'select_account']).optional(),
  /** Offer the device-authorization grant (RFC 8628) when the provider supports it. */
  deviceFlow: z.boolean().default(true),
  /** Allow an http:// issuer: development and tests on loopback only. */
  allowInsecureIssuer: z.boolean().default(false),
});
export type OidcProviderConfig = z.infer<typeof OidcProviderConfig>;

export const OidcConfig = z
  .strictObject({
    providers: z.array(OidcProviderConfig).default([]),
    /** How long a started sign-in stays open. */
    loginTimeoutSeconds: z.number().int().min(60).max(3600).default(600),
  })
  .prefault({})
  .superRefine((c, ctx) => {
    const names = c.providers.map((p) => p.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `provider name "${n}" is used twice` });
    });
    c.providers.forEach((p, i) => {
      if (p.issuer.startsWith('http://') && !p.allowInsecureIssuer) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers', i, 'issuer'],
          message: 'must be https:// (set allowInsecureIssuer only for local development)',
        });
      }
    });
  });

const TrustDomainConfig = z
  .strictObject({
    name: z.string().superRefine((v, ctx) => {
      const problem = trustDomainProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    bundleFile: z.string().min(1).optional(),
    bundleEndpoint: HttpsUrl.optional(),
    /** PEM file of a CA to trust for the bundle endpoint. */
    caFile: z.string().min(1).optional(),
  })
  .refine(
    (t) => (t.bundleFile === undefined) !== (t.bundleEndpoint === undefined),
    'set exactly one of bundleFile and bundleEndpoint',
  );

export const SpiffeConfig = z
  .strictObject({
    /** The audience this server identifies with: every JWT-SVID must name it in `aud`. */
    audience: z.string().min(1).optional(),
    trustDomains: z.array(TrustDomainConfig).default([]),
    leewaySeconds: z.number().int().min(0).max(300).default(30),
    maxTokenBytes: z.number().int().min(512).max(65_536).default(8192),
  })
  .prefault({})
  .refine((s) => s.trustDomains.length === 0 || s.audience !== undefined, {
    message: 'set spiffe.audience when trust domains are configured',
    path: ['audience'],
  });

const KubernetesClusterConfig = z
  .strictObject({
    /** The cluster's alias in the policy's `workloads` entries. */
    name: Name,
    /** The API server's service-account issuer (`--service-account-issuer`). */
    issuer: z.url(),
    /** The audience of the projected token volume. */
    audience: z.string().min(1),
    /** A JWK Set file; without it, keys come from the issuer's OIDC discovery over HTTPS. */
    jwksFile: z.string().min(1).optional(),
    /** PEM file of a CA to trust for discovery (often the cluster CA). */
    caFile: z.string().min(1).optional(),
    refreshSeconds: z.number().int().min(10).default(3600),
  })
  .refine(
    (c) => c.jwksFile !== undefined || c.issuer.startsWith('https://'),
    'discovery needs an https:// issuer; or set jwksFile',
  );

export const KubernetesConfig = z
  .strictObject({
    clusters: z.array(KubernetesClusterConfig).default([]),
    leewaySeconds: z.number().int().min(0).max(300).default(30),
    maxTokenBytes: z.number().int().min(512).max(65_536).default(8192),
  })
  .prefault({});
