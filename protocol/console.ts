import { z } from 'zod';

/** The admin console's own endpoints (`/api/v1/console/...`). Times are ISO 8601. */

export const CONSOLE_ROLE_NAMES = ['admin', 'network-admin', 'auditor', 'member'] as const;

/** `GET /api/v1/console/session`: who is signed in, what they may do, and the CSRF token for changes. */
export const ConsoleSessionView = z.object({
  user: z.object({ id: z.string(), email: z.string(), displayName: z.string(), groups: z.array(z.string()) }),
  role: z.enum(CONSOLE_ROLE_NAMES),
  /** The API scopes the role grants (`admin` means all); a member has none and sees only their own machines. */
  scopes: z.array(z.string()),
  /** Send in the `X-CSRF-Token` header of every request that changes something. */
  csrfToken: z.string(),
  provider: z.string(),
  signedInAt: z.string(),
  /** When the session ends unless used again before (idle limit), or at the latest (absolute limit). */
  expiresAt: z.string(),
  /** The absolute end, however active. */
  maxExpiresAt: z.string(),
});
export type ConsoleSessionView = z.infer<typeof ConsoleSessionView>;

/** `GET /api/v1/console/providers` (no credential): where a person may sign in. */
export const ConsoleProviders = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      /** Navigate the browser here to sign in (then back to `next`, a path under /console/). */
      signInUrl: z.string(),
    }),
  ),
});
export type ConsoleProviders = z.infer<typeof ConsoleProviders>;

/**
 * `POST /api/v1/console/sign-in-links` (scope `admin`): a one-time link that signs a person in
 * to the console without an identity provider (`trellis-server console link`).
 */
export const CreateSignInLink = z.strictObject({
  /** Who signs in; created as a local user when unknown. Default: the quick start's `admin@trellis.local`. */
  email: z.email().max(320).optional(),
  /** The session's role, whatever `console.roles` says of the person. */
  role: z.enum(['admin', 'network-admin', 'auditor']).default('admin'),
  /** How long the link stays good (it works once in any case). */
  expiresInSeconds: z.number().int().min(60).max(3600).default(600),
});
export type CreateSignInLink = z.infer<typeof CreateSignInLink>;

export const SignInLinkView = z.object({
  /** Open it in a browser; it shows a page with a Sign in button. Shown once. */
  url: z.string(),
  email: z.string(),
  role: z.string(),
  expiresAt: z.string(),
});
export type SignInLinkView = z.infer<typeof SignInLinkView>;
