import { lt, sql } from 'drizzle-orm';
import type { ProofNonceRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { SqliteDb } from './open.ts';
import { proofNonces } from './schema.ts';

export function sqliteProofNonces(db: SqliteDb): ProofNonceRepository {
  return {
    async use(nonce, forgetAt, now) {
      checkStorableTimes({ forgetAt }, ['forgetAt']);
      // A row already forgotten (not yet pruned) is taken over; a live one refuses the insert.
      const taken = db
        .insert(proofNonces)
        .values({ nonce: Buffer.from(nonce).toString('base64'), forgetAt })
        .onConflictDoUpdate({
          target: proofNonces.nonce,
          set: { forgetAt: sql`excluded.forget_at` },
          setWhere: lt(proofNonces.forgetAt, now),
        })
        .run();
      return taken.changes > 0;
    },
    async prune(now) {
      return db.delete(proofNonces).where(lt(proofNonces.forgetAt, now)).run().changes;
    },
  };
}
