import { request } from './http.ts';

/**
 * The signed-in person (GET /api/v1/console/session). Roles come from the server's config
 * (`console.roles`); a person named by none is a member, who sees only their own machines.
 */
export type Role = 'admin' | 'network-admin' | 'auditor' | 'member';
export type Scope = 'read' | 'nodes' | 'users' | 'keys' | 'policy' | 'routes' | 'admin';

export interface Session {
  user: { id: string; email: string; displayName: string; groups: string[] };
  role: Role;
  /** What the role may do, in API scopes; the server enforces them whatever the console shows. */
  scopes?: string[];
  csrfToken: string;
  provider?: string;
  expiresAt?: string;
}

/** The scopes each role holds, for a server that does not list them in the session. */
const ROLE_SCOPES: Record<Role, Scope[]> = {
  admin: ['admin'],
  'network-admin': ['read', 'policy', 'routes'],
  auditor: ['read'],
  member: [],
};

/** Whether the session may do what needs `scope` (`admin` holds every scope, `nodes` includes `routes`). */
export function may(session: Session, scope: Scope): boolean {
  const scopes: readonly string[] = session.scopes ?? ROLE_SCOPES[session.role];
  return scopes.includes('admin') || scopes.includes(scope) || (scope === 'routes' && scopes.includes('nodes'));
}

/** Where a person may sign in: each provider's sign-in URL, which returns to `next` (a /console/ path). */
export interface Provider {
  name: string;
  signInUrl: string;
}
export const listProviders = () => request<{ items: Provider[] }>('GET', '/api/v1/console/providers');

export const loadSession = () => request<Session>('GET', '/api/v1/console/session');
export const signOut = () => request<void>('DELETE', '/api/v1/console/session');
