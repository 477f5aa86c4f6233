import type { OidcProviderConfig } from '../../config/identity-schema.ts';
import type { AnswerCode } from '../../error-codes.ts';
import { TrellisError } from '../../errors.ts';

/** A person as the identity provider describes them, after the server's rules are applied. */
export interface SignedInPerson {
  /** `<issuer>#<sub>`: stable across email changes. */
  subject: string;
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

const refused = (code: AnswerCode, message: string) => new TrellisError('forbidden', code, message);

/**
 * Reads email, name and groups from the claims (as configured), then the provider's rules:
 * a verified email when required, and the allow-lists (any match of any list admits).
 */
export function personFromClaims(p: OidcProviderConfig, claims: Record<string, unknown>): SignedInPerson {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') throw refused('oidc.no_subject', 'the identity provider sent no subject');
  const rawEmail = claims[p.claims.email];
  if (typeof rawEmail !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(rawEmail)) {
    throw refused(
      'oidc.no_email',
      `the identity provider sent no email address (claim "${p.claims.email}"); add the email scope`,
    );
  }
  const email = rawEmail.toLowerCase();
  const verified = claims[p.claims.emailVerified];
  if (p.requireEmailVerified && verified !== true && verified !== 'true') {
    throw refused(
      'oidc.email_unverified',
      `${email} is not verified at the identity provider; verify it there and sign in again`,
    );
  }
  const rawGroups = claims[p.claims.groups];
  const groups = Array.isArray(rawGroups)
    ? [
        ...new Set(rawGroups.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 200)),
      ].sort()
    : typeof rawGroups === 'string' && rawGroups
      ? [rawGroups]
      : [];
  const name =
    typeof claims[p.claims.name] === 'string' && claims[p.claims.name] ? String(claims[p.claims.name]) : email;

  const lists = p.allowedDomains.length + p.allowedUsers.length + p.allowedGroups.length;
  if (lists > 0) {
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const admitted =
      p.allowedDomains.some((d) => d.toLowerCase() === domain) ||
      p.allowedUsers.some((u) => u.toLowerCase() === email) ||
      p.allowedGroups.some((g) => groups.includes(g));
    if (!admitted) {
      throw refused(
        'oidc.not_allowed',
        `${email} may not sign in to this network: neither the domain, the user nor any of the groups is allowed; ask an administrator`,
      );
    }
  }
  return { subject: `${p.issuer}#${sub}`, sub, email, name: name.slice(0, 200), groups };
}
