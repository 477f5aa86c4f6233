import { lt } from 'drizzle-orm';
import type { ProofNonceRepository } from '../store.ts';
import { checkStorableTimes } from '../times.ts';
import type { PgDb } from './open.ts';
import { proofNonces } from './schema.ts';

/**
 * One statement takes a whole batch: each row is taken on the primary key as a lone INSERT
 * would take it (of two replicas offered one nonce, the second waits for the first's row and
 * then finds it live), and RETURNING names the rows this statement took. A forgotten row (not
 * yet pruned) is taken over. Prepared once per connection (a reconnect herd after a replica died
 * sends thousands of these within seconds).
 */
const TAKE = {
  name: 'trellis-proof-nonces-take',
  text: `INSERT INTO proof_nonces (nonce, forget_at)
    SELECT * FROM unnest($1::text[], $2::bigint[])
    ON CONFLICT (nonce) DO UPDATE SET forget_at = excluded.forget_at WHERE proof_nonces.forget_at < $3
    RETURNING nonce`,
};
/** A herd's batch is bounded so that one statement stays short. */
const MAX_BATCH = 500;

interface Use {
  nonce: string;
  forgetAt: number;
  now: number;
  settle: (taken: boolean | Error) => void;
}

/**
 * Uses are grouped: while one batch is at the database, the uses that arrive wait for the next,
 * which goes as soon as it returns (a lone use goes at once). A nonce is still taken exactly
 * once across every replica, by the unique key; what the batch saves is a round trip, a query
 * and a result per use.
 */
export function postgresProofNonces(db: PgDb): ProofNonceRepository {
  const waiting: Use[] = [];
  let busy = false;

  const run = async (): Promise<void> => {
    busy = true;
    try {
      while (waiting.length > 0) {
        await take(waiting.splice(0, MAX_BATCH));
      }
    } finally {
      // Never left busy: the uses after it would wait for ever.
      busy = false;
    }
  };

  const take = async (batch: Use[]): Promise<void> => {
    // One nonce twice in one statement is an error in PostgreSQL: the first offer is the one that
    // counts, a second in the same batch is a replay of it. Sorted, so that two replicas' batches
    // lock rows in the same order and never deadlock.
    const first = new Map<string, Use>();
    for (const use of batch) {
      if (first.has(use.nonce)) use.settle(false);
      else first.set(use.nonce, use);
    }
    const uses = [...first.values()].sort((a, b) => (a.nonce < b.nonce ? -1 : 1));
    // A forgotten row is taken over only if it was forgotten for every use in the batch.
    const now = Math.min(...uses.map((u) => u.now));
    try {
      const { rows } = await db.$client.query<{ nonce: string }>({
        ...TAKE,
        values: [uses.map((u) => u.nonce), uses.map((u) => u.forgetAt), now],
      });
      const taken = new Set(rows.map((r) => r.nonce));
      for (const use of uses) use.settle(taken.has(use.nonce));
    } catch (err) {
      for (const use of uses) use.settle(err as Error);
    }
  };

  return {
    async use(nonce, forgetAt, now) {
      checkStorableTimes({ forgetAt, now }, ['forgetAt', 'now']);
      return new Promise<boolean>((resolve, reject) => {
        const settle = (taken: boolean | Error) => (taken instanceof Error ? reject(taken) : resolve(taken));
        waiting.push({ nonce: Buffer.from(nonce).toString('base64'), forgetAt, now, settle });
        if (!busy) void run();
      });
    },
    async prune(now) {
      return (await db.delete(proofNonces).where(lt(proofNonces.forgetAt, now))).rowCount ?? 0;
    },
  };
}
