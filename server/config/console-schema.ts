import { z } from 'zod';

/**
 * The admin console (YAML `console:`): who holds which role, and how long a console session
 * lasts. People sign in through the `oidc.providers`; a person named by no role is a member,
 * who sees only their own machines.
 */

/** The roles, most powerful first: a person named by several holds the first. */
export const CONSOLE_ROLES = ['admin', 'network-admin', 'auditor'] as const;

const RoleMembers = z
  .strictObject({
    /** Email addresses (compared without case). */
    users: z.array(z.email().max(320)).default([]),
    /** Group names as the identity provider's groups claim spells them. */
    groups: z.array(z.string().min(1).max(200)).default([]),
  })
  .prefault({});

export const ConsoleConfig = z
  .strictObject({
    roles: z
      .strictObject({
        admin: RoleMembers,
        'network-admin': RoleMembers,
        auditor: RoleMembers,
      })
      .prefault({}),
    /** A session unused this long ends (seconds). */
    sessionIdleSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(30 * 60),
    /** A session ends this long after its sign-in, used or not (seconds). */
    sessionMaxSeconds: z
      .number()
      .int()
      .min(300)
      .max(30 * 24 * 3600)
      .default(12 * 3600),
  })
  .prefault({})
  .refine((c) => c.sessionIdleSeconds <= c.sessionMaxSeconds, {
    path: ['sessionIdleSeconds'],
    message: 'must not exceed console.sessionMaxSeconds',
  });
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;
