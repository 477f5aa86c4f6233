import { asc, desc, eq, gt, lt, and, max } from 'drizzle-orm';
import type { ChangeKind, ChangeLog } from '../store.ts';
import type { SqliteDb } from './open.ts';
import { changes, counters } from './schema.ts';

/** Records a change inside the caller's transaction; returns its seq. */
export type RecordChange = (kind: ChangeKind, id: string) => number;

const HORIZON = 'changes-pruned-through';

/**
 * The change log on SQLite. One process owns the file, so the writer is the only reader to
 * hint: watchers are told in-process once the (synchronous) transaction that logged has
 * returned, that is, committed. Seqs come from AUTOINCREMENT: one writer, so commit order.
 */
export function sqliteChanges(db: SqliteDb): { log: ChangeLog; record: RecordChange } {
  const watchers = new Set<(seq: number) => void>();
  let hintQueued = false;
  let newest = 0;
  const hint = () => {
    hintQueued = false;
    for (const w of watchers) w(newest);
  };
  const record: RecordChange = (kind, id) => {
    const row = db.insert(changes).values({ at: Date.now(), kind, entityId: id }).returning({ seq: changes.seq }).get();
    newest = row.seq;
    // After the transaction: better-sqlite3's transactions are synchronous, so a microtask runs after commit.
    if (!hintQueued && watchers.size > 0) {
      hintQueued = true;
      queueMicrotask(hint);
    }
    return row.seq;
  };
  const head = () =>
    db
      .select({ seq: max(changes.seq) })
      .from(changes)
      .get()?.seq ?? 0;
  const horizon = () => db.select().from(counters).where(eq(counters.name, HORIZON)).get()?.value ?? 0;
  const log: ChangeLog = {
    async head() {
      return head();
    },
    async since(seq, limit) {
      return db
        .select()
        .from(changes)
        .where(gt(changes.seq, seq))
        .orderBy(asc(changes.seq))
        .limit(limit)
        .all()
        .map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, id: r.entityId }));
    },
    watch(onHint) {
      watchers.add(onHint);
      return () => watchers.delete(onHint);
    },
    async append(kind, id) {
      record(kind, id);
      return newest;
    },
    async prune(before) {
      return db.transaction(() => {
        const keep = head();
        const last = db
          .select({ seq: changes.seq })
          .from(changes)
          .where(and(lt(changes.at, before), lt(changes.seq, keep)))
          .orderBy(desc(changes.seq))
          .limit(1)
          .get();
        if (!last) return 0;
        const gone = db
          .delete(changes)
          .where(lt(changes.seq, last.seq + 1))
          .run().changes;
        db.insert(counters)
          .values({ name: HORIZON, value: Math.max(horizon(), last.seq) })
          .onConflictDoUpdate({ target: counters.name, set: { value: Math.max(horizon(), last.seq) } })
          .run();
        return gone;
      });
    },
    async horizon() {
      return horizon();
    },
  };
  return { log, record };
}
