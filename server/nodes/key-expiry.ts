import type { AuditLog } from '../audit/audit-log.ts';
import type { NetmapEngine } from '../netmap/engine.ts';

const CHECK_EVERY_MS = 5_000;

/**
 * Node keys expire at a time, not on an event: every few seconds, the nodes whose key expired
 * are taken out of every map (until they sign in again), and each expiry goes in the audit trail.
 */
export class KeyExpiry {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly engine: Pick<NetmapEngine, 'expireDue'>,
    private readonly audit: AuditLog,
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
    for (const id of this.engine.expireDue()) {
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
