import type { KubeRequestEvent, NodeAuditReport } from '../../protocol/node-audit.ts';
import type { NodeRecord } from '../store/records.ts';
import type { AuditLog } from './audit-log.ts';

/**
 * Writes a node's report (`POST /api/v1/machine/audit`) into the audit trail. The reporter is the
 * node that signed the request; its name goes into every message, so a reader always sees whose
 * word an event is. The caller fields are what that node saw, and are recorded as such.
 */
export async function recordNodeReport(audit: AuditLog, reporter: NodeRecord, report: NodeAuditReport): Promise<void> {
  for (const event of report.events) await audit.record(kubeRequestRecord(reporter, event));
}

function kubeRequestRecord(reporter: NodeRecord, e: KubeRequestEvent) {
  const target = [
    e.resource,
    e.name && `"${e.name}"`,
    e.namespace && `in namespace ${e.namespace}`,
    e.apiGroup && `(group ${e.apiGroup})`,
  ]
    .filter(Boolean)
    .join(' ');
  const as = e.code
    ? `refused by the proxy`
    : e.mode === 'auth'
      ? `as ${e.caller.login}${e.groups?.length ? ` with groups ${e.groups.join(', ')}` : ' with no groups'}`
      : 'with its own credentials (noauth)';
  return {
    kind: 'kube.request' as const,
    outcome: e.status < 400 ? ('success' as const) : ('failure' as const),
    actor: e.caller.login,
    method: 'mesh-address',
    identity: `node ${e.caller.nodeName}`,
    nodeId: e.caller.nodeId,
    source: e.caller.address,
    ...(e.code && { code: e.code }),
    message: `kube-proxy on ${reporter.name}: ${e.verb} ${target} ${as}: ${e.status}`,
  };
}
