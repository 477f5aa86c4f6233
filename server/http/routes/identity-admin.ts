import { z } from 'zod';
import { AuditListQuery, AuditPage } from '../../../protocol/audit.ts';
import { NodeView, listOf } from '../../../protocol/admin.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { UserService } from '../../admin/user-service.ts';
import { nodeView } from '../../admin/views.ts';
import { notFound } from '../../errors.ts';
import type { NetmapEngine } from '../../netmap/engine.ts';
import type { NodeService } from '../../nodes/node-service.ts';
import type { AuditRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import { actorOf, route, type Route } from '../route.ts';
import { isoTime } from '../../../protocol/time.ts';

interface IdentityAdminDeps {
  audit: AuditLog;
  store: Store;
  nodes: NodeService;
  users: UserService;
  engine: NetmapEngine;
}

/** The audit trail, and expiring every node of a user at once. */
export function identityAdminRoutes(d: IdentityAdminDeps): Route[] {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'List audit events, newest first (filter by time, kind, outcome, actor, action, node; paginated)',
      tag: 'audit',
      auth: { kind: 'admin', scope: 'read' },
      query: AuditListQuery,
      response: AuditPage,
      handle: async ({ query }) => {
        const items = await d.audit.list({
          since: query.since ? Date.parse(query.since) : undefined,
          until: query.until ? Date.parse(query.until) : undefined,
          kind: query.kind,
          outcome: query.outcome,
          actor: query.actor,
          codePrefix: query.action,
          nodeId: query.nodeId,
          before: query.cursor ? Number(query.cursor) : undefined,
          limit: query.limit + 1,
        });
        const page = items.slice(0, query.limit);
        return {
          items: page.map(auditView),
          nextCursor: items.length > query.limit ? String(page[page.length - 1]!.id) : undefined,
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/users/:id/expire-nodes',
      summary: 'Expire every node of a user now: each must sign in again',
      tag: 'users',
      auth: { kind: 'admin', scope: 'users' },
      body: z.strictObject({}).optional(),
      response: listOf(NodeView),
      handle: async ({ params, caller }) => {
        const user = await d.store.users.get(params.id!);
        if (!user) throw notFound('user.not_found', `no user with id ${params.id}`);
        const expired = await d.nodes.expireUserNodes(user.id, actorOf(caller));
        return {
          items: expired.map((n) =>
            nodeView(n, d.users.emailOf, { online: d.engine.isOnline(n.id), paths: d.engine.pathsOf(n.id) }),
          ),
        };
      },
    }),
  ];
}

function auditView(r: AuditRecord) {
  return { ...r, at: isoTime(r.at) };
}
