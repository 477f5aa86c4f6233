import { asc, desc, eq, gt, lt, and, max, sql } from 'drizzle-orm';
import pg from 'pg';
import type { ChangeKind, ChangeLog } from '../store.ts';
import { guarded } from './errors.ts';
import { LOCKS } from './locks.ts';
import type { PgDb, PgTx } from './open.ts';
import { changes, counters } from './schema.ts';

/** The NOTIFY channel; the payload is only the new seq, a hint to read the log. */
export const CHANGES_CHANNEL = 'trellis_changes';
const HORIZON = 'changes-pruned-through';

/**
 * Logs a change inside the caller's transaction, as its last statements: the advisory lock
 * serializes the log's tail, so seqs are in commit order (locks.ts), and the NOTIFY is sent
 * by PostgreSQL only if and when the transaction commits.
 */
export async function recordChange(tx: PgTx, kind: ChangeKind, id: string): Promise<number> {
  const [seq] = await recordChanges(tx, kind, [id]);
  return seq!;
}

/** Logs a change of each of `ids` (in that order) as recordChange does, in one statement and one notification. */
export async function recordChanges(tx: PgTx, kind: ChangeKind, ids: readonly string[]): Promise<number[]> {
  if (ids.length === 0) return [];
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${LOCKS.changeLog[0]}, ${LOCKS.changeLog[1]})`);
  const at = Date.now();
  const rows = await tx
    .insert(changes)
    .values(ids.map((entityId) => ({ at, kind, entityId })))
    .returning({ seq: changes.seq });
  const seqs = rows.map((r) => r.seq).sort((a, b) => a - b);
  await tx.execute(sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${String(seqs[seqs.length - 1])})`);
  return seqs;
}

/**
 * The change log on PostgreSQL. Watchers share one LISTEN connection of their own (not the
 * pool's: a pooled connection is handed to others between queries), opened with the first
 * watcher. When it drops it reconnects with backoff and then hints the head, so a watcher
 * reads whatever committed while no notification could arrive.
 */
export function postgresChanges(db: PgDb, connection: pg.ClientConfig): ChangeLog & { close(): Promise<void> } {
  const watchers = new Set<(seq: number) => void>();
  const head = async () => (await db.select({ seq: max(changes.seq) }).from(changes))[0]?.seq ?? 0;
  const horizon = async (q: PgDb | PgTx = db) =>
    (await q.select().from(counters).where(eq(counters.name, HORIZON)))[0]?.value ?? 0;
  const hint = (seq: number) => {
    for (const w of watchers) w(seq);
  };
  const listener = new Listener(connection, hint, () => head());

  const log = guarded({
    head,
    async since(seq: number, limit: number) {
      const rows = await db.select().from(changes).where(gt(changes.seq, seq)).orderBy(asc(changes.seq)).limit(limit);
      return rows.map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, id: r.entityId }));
    },
    async append(kind: ChangeKind, id: string) {
      return db.transaction((tx) => recordChange(tx, kind, id));
    },
    async prune(before: number) {
      return db.transaction(async (tx) => {
        const keep = (await tx.select({ seq: max(changes.seq) }).from(changes))[0]?.seq ?? 0;
        const [last] = await tx
          .select({ seq: changes.seq })
          .from(changes)
          .where(and(lt(changes.at, before), lt(changes.seq, keep)))
          .orderBy(desc(changes.seq))
          .limit(1);
        if (!last) return 0;
        const gone = await tx.delete(changes).where(lt(changes.seq, last.seq + 1));
        const through = Math.max(await horizon(tx), last.seq);
        await tx
          .insert(counters)
          .values({ name: HORIZON, value: through })
          .onConflictDoUpdate({ target: counters.name, set: { value: through } });
        return gone.rowCount ?? 0;
      });
    },
    async horizon() {
      return horizon();
    },
  });
  return {
    ...log,
    watch(onHint) {
      watchers.add(onHint);
      listener.start();
      return () => {
        watchers.delete(onHint);
        if (watchers.size === 0) void listener.stop();
      };
    },
    close: () => listener.stop(),
  };
}

const BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/** One LISTEN connection that keeps itself open. */
class Listener {
  private client: pg.Client | undefined;
  private running = false;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly onHint: (seq: number) => void,
    private readonly head: () => Promise<number>,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.connection);
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      const seq = Number(n.payload);
      if (n.channel === CHANGES_CHANNEL && Number.isSafeInteger(seq)) this.onHint(seq);
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (!this.running || this.client !== client) return void client.end().catch(() => undefined);
      this.failures = 0;
      // Whatever committed while nobody listened: read from where you are.
      this.onHint(await this.head());
    } catch {
      this.lost(client);
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    if (!this.running) return;
    const wait = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)];
    this.retry = setTimeout(() => void this.connect(), wait);
  }
}
