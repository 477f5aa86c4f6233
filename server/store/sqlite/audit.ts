import { checkStorableTimes } from '../times.ts';
import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { AuditRepository } from '../store.ts';
import type { SqliteDb } from './open.ts';
import { auditRecordOf } from '../rows.ts';
import { auditEvents } from './schema.ts';

const PRUNE_BATCH = 5_000;

export function sqliteAudit(db: SqliteDb): AuditRepository {
  return {
    async append(event) {
      checkStorableTimes(event, ['at']);
      return auditRecordOf(db.insert(auditEvents).values(event).returning().get());
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
      if (q.codePrefix !== undefined)
        where.push(sql`substr(${auditEvents.code}, 1, ${q.codePrefix.length}) = ${q.codePrefix}`);
      if (q.before !== undefined) where.push(lt(auditEvents.id, q.before));
      return db
        .select()
        .from(auditEvents)
        .where(and(...where))
        .orderBy(desc(auditEvents.id))
        .limit(q.limit)
        .all()
        .map(auditRecordOf);
    },
    async prune(before) {
      // In batches, each its own short write: a year of events must not hold the database's lock.
      let total = 0;
      for (;;) {
        const batch = db
          .select({ id: auditEvents.id })
          .from(auditEvents)
          .where(lt(auditEvents.at, before))
          .limit(PRUNE_BATCH);
        const { changes } = db.delete(auditEvents).where(inArray(auditEvents.id, batch)).run();
        total += changes;
        if (changes < PRUNE_BATCH) return total;
        await new Promise((r) => setImmediate(r));
      }
    },
  };
}
