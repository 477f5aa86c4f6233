/** Every /api/v1 call the console makes, in one place, typed by the wire types in protocol/ (types only). */
import type {
  ApiKeyView,
  NodeView,
  PolicyView,
  PrefixView,
  PreAuthKeyView,
  UserView,
} from '../../../protocol/admin.ts';
import type { AuditPage } from '../../../protocol/audit.ts';
import type { ErrorBody } from '../../../protocol/errors.ts';
import type {
  CheckPolicyResponse,
  Explanation,
  PolicyDiff,
  PolicyPreview,
  PolicyTestsView,
  PolicyVersionsPage,
  PolicyVersionView,
  ReachEntry,
  RuleRef,
} from '../../../protocol/policy-admin.ts';
import type { z } from 'zod';
import { request, withQuery } from './http.ts';

export type { ApiKeyView, AuditPage, NodeView, PolicyView, PrefixView, PreAuthKeyView, UserView };
export type { Explanation, PolicyDiff, PolicyPreview, PolicyTestsView, PolicyVersionView, ReachEntry, RuleRef };
export type AccessChange = PolicyDiff['granted'][number];
export type AuditEvent = AuditPage['items'][number];
type List<T> = { items: T[] };

/** A node as the console shows it: the admin view (with its path summary while online). */
export type Machine = NodeView;

// machines
export const listMachines = () => request<List<Machine>>('GET', '/api/v1/nodes');
export const getMachine = (id: string) => request<Machine>('GET', `/api/v1/nodes/${encodeURIComponent(id)}`);
const nodeAction = (id: string, action: string, body: unknown) =>
  request<Machine>('POST', `/api/v1/nodes/${encodeURIComponent(id)}/${action}`, body);
export const renameMachine = (id: string, name: string) => nodeAction(id, 'rename', { name });
export const tagMachine = (id: string, tags: string[]) => nodeAction(id, 'tags', { tags });
export const approveRoutes = (id: string, routes: string[]) => nodeAction(id, 'routes', { routes });
export const expireMachine = (id: string) => nodeAction(id, 'expire', {});
export const deleteMachine = (id: string) => request<void>('DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`);

// users
export const listUsers = () => request<List<UserView>>('GET', '/api/v1/users');
/** Every machine of the user must sign in again; answers the machines it expired. */
export const expireUserMachines = (id: string) =>
  request<List<Machine>>('POST', `/api/v1/users/${encodeURIComponent(id)}/expire-nodes`, {});

// keys
export const listPreAuthKeys = () => request<List<PreAuthKeyView>>('GET', '/api/v1/preauth-keys');
export interface NewPreAuthKey {
  user?: string;
  tags: string[];
  reusable: boolean;
  ephemeral: boolean;
  expiresInSeconds: number;
  description: string;
}
export const createPreAuthKey = (k: NewPreAuthKey) =>
  request<{ key: PreAuthKeyView; secret: string }>('POST', '/api/v1/preauth-keys', k);
export const revokePreAuthKey = (id: string) =>
  request<void>('DELETE', `/api/v1/preauth-keys/${encodeURIComponent(id)}`);
export const listApiKeys = () => request<List<ApiKeyView>>('GET', '/api/v1/api-keys');
export interface NewApiKey {
  scopes: string[];
  expiresInSeconds?: number;
  description: string;
}
export const createApiKey = (k: NewApiKey) =>
  request<{ key: ApiKeyView; secret: string }>('POST', '/api/v1/api-keys', k);
export const revokeApiKey = (id: string) => request<void>('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`);

// policy
export const getPolicy = () => request<PolicyView>('GET', '/api/v1/policy');
/** Valid (else 400 `policy.invalid`, every problem at its line and column) and the embedded tests' results. */
export const checkPolicy = (policy: string) =>
  request<z.infer<typeof CheckPolicyResponse>>('POST', '/api/v1/policy/check', { policy });
export const applyPolicy = (policy: string, ifVersion: number) =>
  request<PolicyView>('PUT', '/api/v1/policy', { policy, ifVersion });
/** Access granted and revoked if `policy` replaced version `from` (the one the edit started from). */
export const diffPolicy = (policy: string, from: number) =>
  request<PolicyDiff>('POST', '/api/v1/policy/diff', { policy, from });
/** What `src` may reach under the active policy, and by which rule. */
export const previewAccess = (src: string) => request<PolicyPreview>('POST', '/api/v1/policy/preview', { src });
export const explainAccess = (q: { src: string; dst: string; port: number; proto?: string }) =>
  request<Explanation>('POST', '/api/v1/policy/explain', q);
export const listPolicyVersions = () => request<PolicyVersionsPage>('GET', '/api/v1/policy/versions');
export const getPolicyVersion = (version: number) => request<PolicyView>('GET', `/api/v1/policy/versions/${version}`);
/** Version `version`'s text as a new version, over the active version `ifVersion`. */
export const revertPolicy = (version: number, ifVersion: number) =>
  request<PolicyView>('POST', `/api/v1/policy/versions/${version}/revert`, { ifVersion });

// routes
export const listRoutes = () => request<List<PrefixView>>('GET', '/api/v1/routes');

// audit
export interface AuditFilter {
  actor?: string;
  action?: string;
  nodeId?: string;
  kind?: string;
  outcome?: string;
  since?: string;
  until?: string;
  cursor?: string;
}
export const listAudit = (f: AuditFilter) =>
  request<AuditPage>('GET', withQuery('/api/v1/audit', { ...f, limit: 100 }));

export type { ErrorBody };
