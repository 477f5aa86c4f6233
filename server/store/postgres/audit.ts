import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { AuditRepository } from '../store.ts';
import { auditRecordOf } from '../rows.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { auditEvents } from './schema.ts';

const PRUNE_BATCH = 5_000;

export function postgresAudit(db: PgDb): AuditRepository {
  return {
    async append(event) {
      checkStorableTimes(event, ['at']);
      const [row] = await db.insert(auditEvents).values(event).returning();
      return auditRecordOf(row!);
    },
    async list(q) {
      const where: SQL[] = [];
      if (q.since !== undefined) where.push(gte(auditEvents.at, q.since));
      if (q.until !== undefined) where.push(lt(auditEvents.at, q.until));
      if (q.kind !== undefined) where.push(eq(auditEvents.kind, q.kind));
      if (q.outcome !== undefined) where.push(eq(auditEvents.outcome, q.outcome));
      if (q.actor !== undefined) where.push(eq(auditEvents.actor, q.actor));
      if (q.nodeId !== undefined) where.push(eq(auditEvents.nodeId, q.nodeId));
      // A prefix compared as text: LIKE would read % and _ in it as wildcards.
      if (q.codePrefix !== undefined) where.push(sql`starts_with(${auditEvents.code}, ${q.codePrefix})`);
      if (q.before !== undefined) where.push(lt(auditEvents.id, q.before));
      const rows = await db
        .select()
        .from(auditEvents)
        .where(and(...where))
        .orderBy(desc(auditEvents.id))
        .limit(q.limit);
      return rows.map(auditRecordOf);
    },
    async prune(before) {
      // In batches, each its own short transaction: a year of events must not hold one lock.
      let total = 0;
      for (;;) {
        const batch = db
          .select({ id: auditEvents.id })
          .from(auditEvents)
          .where(lt(auditEvents.at, before))
          .limit(PRUNE_BATCH);
        const gone = (await db.delete(auditEvents).where(inArray(auditEvents.id, batch))).rowCount ?? 0;
        total += gone;
        if (gone < PRUNE_BATCH) return total;
      }
    },
  };
}
