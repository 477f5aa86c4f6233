import { CONSOLE_ROLES, type ConsoleConfig } from '../config/console-schema.ts';
import type { ApiScope } from '../store/records.ts';

/** A console role from the config, or `member`: a person named by none, who sees only their own machines. */
export type Role = (typeof CONSOLE_ROLES)[number] | 'member';

/** What each role may do, in the API's scopes (server/admin/scopes.ts). */
export const ROLE_SCOPES: Readonly<Record<Role, readonly ApiScope[]>> = {
  admin: ['admin'],
  'network-admin': ['read', 'policy', 'routes'],
  auditor: ['read'],
  member: [],
};

/**
 * The role of a person as of now: the first role (most powerful first) whose users name their
 * email or whose groups meet the groups their identity provider gave at their last sign-in.
 * Read at every request, so a changed config or a changed directory applies at once.
 */
export function roleOf(person: { email: string; groups: readonly string[] }, roles: ConsoleConfig['roles']): Role {
  const email = person.email.toLowerCase();
  for (const role of CONSOLE_ROLES) {
    const members = roles[role];
    if (members.users.some((u) => u.toLowerCase() === email)) return role;
    if (members.groups.some((g) => person.groups.includes(g))) return role;
  }
  return 'member';
}
