import { NodeAuditReport } from '../../../protocol/node-audit.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { recordNodeReport } from '../../audit/node-report.ts';
import { route, type Route } from '../route.ts';

/** A node reports audit events of a service it runs (the Kubernetes API server proxy). */
export function nodeAuditRoutes(audit: AuditLog): Route[] {
  return [
    route({
      method: 'post',
      path: '/api/v1/machine/audit',
      summary: "Report audit events of a service on this node (recorded as this node's report)",
      tag: 'machine',
      auth: { kind: 'machine' },
      body: NodeAuditReport,
      status: 204,
      handle: async ({ body, caller }) => {
        if (caller.kind !== 'machine' || !caller.node) throw new TypeError('machine route without a registered node');
        await recordNodeReport(audit, caller.node, body);
      },
    }),
  ];
}
