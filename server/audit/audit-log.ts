import type { Logger } from 'pino';
import { TrellisError } from '../errors.ts';
import type { AuditRecord } from '../store/records.ts';
import type { AuditQuery, Store } from '../store/store.ts';

type AuditEvent = Omit<AuditRecord, 'id' | 'at'>;

const DAY_MS = 24 * 3600 * 1000;

/**
 * The audit trail: every authentication (success and failure), sign-in, registration, key
 * expiry and admin action. Each event is committed to the store and written to the structured
 * log. Recording never fails the action it describes: a store failure is logged as an error.
 */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const full = { ...event, at: this.now() };
    try {
      const saved = await this.store.audit.append(full);
      this.logger.info({ audit: saved }, `audit: ${event.kind} ${event.outcome}: ${event.message}`);
    } catch (err) {
      this.logger.error({ audit: full, err }, 'audit event could not be stored');
    }
  }

  /**
   * Records a failure from an error: a known error's code and message, else a generic one;
   * `about` says what was attempted.
   */
  async failure(event: Omit<AuditEvent, 'outcome' | 'message' | 'code'>, err: unknown, about?: string): Promise<void> {
    const known = err instanceof TrellisError;
    const message = known ? err.message : 'internal error';
    await this.record({
      ...event,
      outcome: 'failure',
      code: known ? err.code : 'server.internal',
      message: about ? `${about}: ${message}` : message,
    });
  }

  list(query: AuditQuery): Promise<AuditRecord[]> {
    return this.store.audit.list(query);
  }

  /**
   * Deletes the events older than `retentionDays` (0: none) and, when some went, records that
   * it did, so the trail itself says where it now begins.
   */
  async prune(retentionDays: number): Promise<number> {
    if (retentionDays === 0) return 0;
    let removed: number;
    try {
      removed = await this.store.audit.prune(this.now() - retentionDays * DAY_MS);
    } catch (err) {
      this.logger.error({ err }, 'old audit events could not be deleted');
      return 0;
    }
    if (removed > 0) {
      await this.record({
        kind: 'admin',
        outcome: 'success',
        actor: 'system',
        code: 'audit.prune',
        message: `deleted ${removed} audit event${removed === 1 ? '' : 's'} older than ${retentionDays} days (audit.retentionDays)`,
      });
    }
    return removed;
  }
}
