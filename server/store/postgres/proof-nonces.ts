import { lt, sql } from 'drizzle-orm';
import type { ProofNonceRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { proofNonces } from './schema.ts';

export function postgresProofNonces(db: PgDb): ProofNonceRepository {
  return {
    async use(nonce, forgetAt, now) {
      checkStorableTimes({ forgetAt }, ['forgetAt']);
      // One statement on the primary key: of two replicas offered one nonce, the second waits
      // for the first's row and then finds it live. A forgotten row (not yet pruned) is taken over.
      const taken = await db
        .insert(proofNonces)
        .values({ nonce: Buffer.from(nonce).toString('base64'), forgetAt })
        .onConflictDoUpdate({
          target: proofNonces.nonce,
          set: { forgetAt: sql`excluded.forget_at` },
          setWhere: lt(proofNonces.forgetAt, now),
        });
      return (taken.rowCount ?? 0) > 0;
    },
    async prune(now) {
      return (await db.delete(proofNonces).where(lt(proofNonces.forgetAt, now))).rowCount ?? 0;
    },
  };
}
