import type { AuditLog } from '../audit/audit-log.ts';
import type { ServerMetrics } from '../observability/metrics.ts';
import type { PrimaryChange } from './route-table.ts';

/**
 * A change of a prefix's primary router is security-relevant (traffic into a subnet moves to
 * another machine): it goes into the audit trail and the metrics. `outcome` in the metric:
 * `elected` (a prefix got its first primary), `failover` (it moved), `lost` (no router is left).
 * Without `audit` (a replica serving the leader's election), only the metric.
 */
export function recordPrimaryChange(
  change: PrimaryChange,
  to: { audit: AuditLog | undefined; metrics: ServerMetrics },
): void {
  const outcome = !change.from ? 'elected' : change.to ? 'failover' : 'lost';
  to.metrics.primaryChanges.inc({ prefix: change.prefix, outcome });
  if (!to.audit) return;
  const what = change.to
    ? `${change.prefix}: primary ${change.from ? `${change.from.name} -> ` : ''}${change.to.name}`
    : `${change.prefix}: no primary (was ${change.from?.name})`;
  void to.audit.record({
    kind: 'route.primary',
    outcome: change.to ? 'success' : 'failure',
    actor: 'system',
    ...((change.to ?? change.from) && { nodeId: (change.to ?? change.from)!.nodeId }),
    code: `route.${outcome}`,
    message: `${what} (${change.reason})`,
  });
}
