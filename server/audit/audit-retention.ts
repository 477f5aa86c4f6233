import type { AuditLog } from './audit-log.ts';

const PRUNE_EVERY_MS = 3_600_000;

/**
 * Applies `audit.retentionDays`: events older than that are deleted when the server starts and
 * hourly after (0 keeps everything; AuditLog.prune records each deletion in the trail).
 */
export class AuditRetention {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly audit: AuditLog,
    private readonly retentionDays: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.prune();
    this.timer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private prune(): void {
    void this.audit.prune(this.retentionDays); // a failure is logged by prune itself
  }
}
