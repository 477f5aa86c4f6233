import type { Logger } from 'pino';
import { TrellisError } from '../errors.ts';
import type { AuditRecord } from '../store/records.ts';
import type { AuditQuery, Store } from '../store/store.ts';

export type AuditEvent = Omit<AuditRecord, 'id' | 'at'>;

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
      code: known ? err.code : 'internal',
      message: about ? `${about}: ${message}` : message,
    });
  }

  list(query: AuditQuery): Promise<AuditRecord[]> {
    return this.store.audit.list(query);
  }
}
