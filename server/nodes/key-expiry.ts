import type { AuditLog } from '../audit/audit-log.ts';
import type { NetmapEngine } from '../netmap/engine.ts';

const CHECK_EVERY_MS = 5_000;

/**
 * Node keys expire at a time, not on an event: every few seconds, the nodes whose key expired
 * are taken out of every map (until they sign in again), and each expiry goes in the audit trail.
 * Every replica takes them out of its own maps (nothing in the database changes to tell it);
 * only the leader writes the audit event (`audits`), so there is one per expiry.
 */
export class KeyExpiry {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly engine: Pick<NetmapEngine, 'expireDue'>,
    private readonly audit: AuditLog,
    private readonly audits: () => boolean = () => true,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.expireDue(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private expireDue(): void {
    const due = this.engine.expireDue();
    if (!this.audits()) return;
    for (const id of due) {
      void this.audit.record({
        kind: 'node.expire',
        outcome: 'success',
        actor: 'system',
        nodeId: id,
        message: 'node key expired; removed from maps until it signs in again',
      });
    }
  }
}
