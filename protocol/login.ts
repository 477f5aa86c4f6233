import { z } from 'zod';

/**
 * Signing a person in through their identity provider (OIDC), in three machine-proved steps:
 *
 *   1. `POST /api/v1/machine/login` -> a login id and a URL for the person to open (or, in
 *      the device flow, a URL and a user code to enter at the provider);
 *   2. `POST /api/v1/machine/login/wait` until the sign-in is complete (long poll);
 *   3. `POST /api/v1/machine/register` with `{type: "oidc", loginId}`.
 *
 * Only the machine key that started a sign-in can wait for it or register with it, and a
 * completed sign-in registers once.
 */
export const StartLoginRequest = z.strictObject({
  /** Shown to the person on the sign-in page, so they can tell which device asks. */
  hostname: z.string().min(1).max(253),
  /** A configured provider's name; the first one when absent. */
  provider: z.string().min(1).max(63).optional(),
  /** Prefer the device-authorization grant (no browser on this machine). */
  device: z.boolean().optional(),
});
export type StartLoginRequest = z.infer<typeof StartLoginRequest>;

export const StartLoginResponse = z.object({
  loginId: z.string(),
  /** What the person opens. */
  url: z.string(),
  /** 'device' when the provider's device flow is used (the person enters `userCode` there). */
  mode: z.enum(['browser', 'device']),
  /** Device flow: the code to enter at the provider. */
  userCode: z.string().optional(),
  /** Browser flow: the sign-in page shows this code too, so the person can match the two. */
  verificationCode: z.string().optional(),
  expiresAt: z.string(),
});
export type StartLoginResponse = z.infer<typeof StartLoginResponse>;

export const WaitLoginRequest = z.strictObject({ loginId: z.string().min(1).max(128) });
export type WaitLoginRequest = z.infer<typeof WaitLoginRequest>;

export const WaitLoginResponse = z.object({
  status: z.enum(['pending', 'complete', 'failed']),
  /** The signed-in person, once complete. */
  user: z.string().optional(),
  /** Why it failed: a stable code and a message for the person. */
  code: z.string().optional(),
  message: z.string().optional(),
});
export type WaitLoginResponse = z.infer<typeof WaitLoginResponse>;
