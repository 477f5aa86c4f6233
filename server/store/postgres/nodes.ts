import { and, eq, gt, isNull, like, or, sql } from 'drizzle-orm';
import { keyBytes, keyText } from '../../../protocol/keys.ts';
import type { NodeRecord } from '../records.ts';
import { StoreConflict, type NodePatch, type NodeRepository, type StoreConflictCode } from '../store.ts';
import { definedOnly, orUndefined } from '../rows.ts';
import { checkStorableTimes } from '../times.ts';
import { recordChange } from './changes.ts';
import { brokenUnique } from './errors.ts';
import type { PgDb, PgTx } from './open.ts';
import { counters, nodes, preAuthKeys } from './schema.ts';

const ADDRESS_COUNTER = 'address-index';
/** A create that lost a race for a name or an address to another replica runs again, this often. */
const CREATE_ATTEMPTS = 8;

type Row = typeof nodes.$inferSelect;

const toRecord = (row: Row): NodeRecord => {
  const record: NodeRecord = {
    ...row,
    machineKey: keyText(row.machineKey),
    wireguardKey: keyText(row.wireguardKey),
    userId: orUndefined(row.userId),
    os: orUndefined(row.os),
    lastSeen: orUndefined(row.lastSeen),
    expiresAt: orUndefined(row.expiresAt),
    identity: orUndefined(row.identity),
    routePriority: orUndefined(row.routePriority),
  };
  return record;
};

export function postgresNodes(db: PgDb): NodeRepository {
  // Every signed request and every map stream (a reconnect herd after a replica died) looks a
  // node up by its machine key: built once, prepared once per connection.
  const byMachineKey = db
    .select()
    .from(nodes)
    .where(eq(nodes.machineKey, sql.placeholder('machineKey')))
    .prepare('trellis-nodes-by-machine-key');
  /**
   * The next address index. The counter's row lock queues creates across replicas until each
   * commits; an index whose address is still held (after a wrap, or an imported row) is skipped.
   */
  const allocate = async (tx: PgTx, addressFor: (i: number) => { ipv4: string; ipv6: string }) => {
    const [row] = await tx
      .insert(counters)
      .values({ name: ADDRESS_COUNTER, value: 1 })
      .onConflictDoUpdate({ target: counters.name, set: { value: sql`${counters.value} + 1` } })
      .returning({ value: counters.value });
    let index = row!.value;
    for (;;) {
      const candidate = addressFor(index);
      const [held] = await tx
        .select({ id: nodes.id })
        .from(nodes)
        .where(or(eq(nodes.ipv4, candidate.ipv4), eq(nodes.ipv6, candidate.ipv6)))
        .limit(1);
      if (!held) {
        await tx.update(counters).set({ value: index }).where(eq(counters.name, ADDRESS_COUNTER));
        return candidate;
      }
      index++;
    }
  };

  const uniqueName = async (tx: PgTx, base: string) => {
    const [taken] = await tx.select({ id: nodes.id }).from(nodes).where(eq(nodes.name, base)).limit(1);
    if (!taken) return base;
    const names = new Set(
      (
        await tx
          .select({ name: nodes.name })
          .from(nodes)
          .where(like(nodes.name, `${likeEscaped(base)}-%`))
      ).map((r) => r.name),
    );
    for (let i = 2; ; i++) if (!names.has(`${base}-${i}`)) return `${base}-${i}`;
  };

  /** Uses one of a pre-auth key inside the caller's transaction; refuses one that cannot be used. */
  const consume = async (tx: PgTx, use: { id: string; now: number }) => {
    const used = await tx
      .update(preAuthKeys)
      .set({ usedCount: sql`${preAuthKeys.usedCount} + 1` })
      .where(
        and(
          eq(preAuthKeys.id, use.id),
          isNull(preAuthKeys.revokedAt),
          gt(preAuthKeys.expiresAt, use.now),
          or(eq(preAuthKeys.reusable, true), eq(preAuthKeys.usedCount, 0)),
        ),
      )
      .returning({ id: preAuthKeys.id });
    if (used.length === 0) throw new StoreConflict('preauth_key.unusable', 'the pre-auth key can no longer be used');
  };

  return {
    async list() {
      return (await db.select().from(nodes).orderBy(nodes.createdAt, nodes.id)).map(toRecord);
    },
    async get(id) {
      const [row] = await db.select().from(nodes).where(eq(nodes.id, id));
      return row && toRecord(row);
    },
    async getByMachineKey(machineKey) {
      const bytes = keyBytes(machineKey);
      if (!bytes) return undefined;
      const [row] = await byMachineKey.execute({ machineKey: Buffer.from(bytes) });
      return row && toRecord(row);
    },
    async create(draft, options) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction(async (tx) => {
            if (options.consumePreAuthKey) await consume(tx, options.consumePreAuthKey);
            const addresses = await allocate(tx, options.addressFor);
            const record: NodeRecord = { ...draft, ...addresses, name: await uniqueName(tx, draft.name) };
            await tx.insert(nodes).values(insertRow(record));
            await recordChange(tx, 'node', record.id);
            return record;
          });
        } catch (err) {
          const conflict = uniqueViolation(err);
          if (!conflict) throw err;
          // Another replica took this name or address between our read and our insert: the whole
          // transaction (the key's use included) rolled back, and a fresh one reads what it wrote.
          const lostRace = conflict.code === 'node.name_taken' || conflict.code === 'node.address_taken';
          if (!lostRace || attempt >= CREATE_ATTEMPTS) throw conflict;
        }
      }
    },
    async update(id, patch, options = {}) {
      const values = patchRow(patch);
      const changes = Object.keys(values).length > 0;
      if (!changes && !options.consumePreAuthKey) return this.get(id);
      try {
        return await db.transaction(async (tx) => {
          const [row] = changes
            ? await tx.update(nodes).set(values).where(eq(nodes.id, id)).returning()
            : await tx.select().from(nodes).where(eq(nodes.id, id));
          // A node that is gone uses up nothing.
          if (row && options.consumePreAuthKey) await consume(tx, options.consumePreAuthKey);
          if (row && changes) await recordChange(tx, 'node', id);
          return row && toRecord(row);
        });
      } catch (err) {
        throw uniqueViolation(err) ?? err;
      }
    },
    async delete(id) {
      return db.transaction(async (tx) => {
        const gone = await tx.delete(nodes).where(eq(nodes.id, id)).returning({ id: nodes.id });
        if (gone.length > 0) await recordChange(tx, 'node', id);
        return gone.length > 0;
      });
    },
  };
}

/** LIKE reads % and _ as wildcards and \ as its escape; a name is matched as text. */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const TIMES = ['lastSeen', 'expiresAt', 'createdAt'] as const;

/** A record as its row holds it: keys as their bytes, times checked, absent as NULL. */
function insertRow(record: NodeRecord): typeof nodes.$inferInsert {
  checkStorableTimes(record, TIMES);
  return { ...record, machineKey: storedKey(record.machineKey), wireguardKey: storedKey(record.wireguardKey) };
}

function patchRow(patch: NodePatch): Partial<typeof nodes.$inferInsert> {
  const values = definedOnly(patch);
  checkStorableTimes(values, TIMES);
  const { wireguardKey, ...rest } = values;
  return wireguardKey === undefined ? rest : { ...rest, wireguardKey: storedKey(wireguardKey) };
}

function storedKey(text: string): Buffer {
  const bytes = keyBytes(text);
  if (!bytes) throw new TypeError('refusing to store a key that is not 32 bytes in canonical base64');
  return Buffer.from(bytes);
}

const UNIQUE_CONSTRAINTS: Record<string, [StoreConflictCode, string]> = {
  nodes_name_key: ['node.name_taken', 'name'],
  nodes_machine_key_key: ['node.machine_key_taken', 'machine key'],
  nodes_wireguard_key_key: ['node.wireguard_key_taken', 'wireguard key'],
  nodes_ipv4_key: ['node.address_taken', 'ipv4'],
  nodes_ipv6_key: ['node.address_taken', 'ipv6'],
};

function uniqueViolation(err: unknown): StoreConflict | undefined {
  if (err instanceof StoreConflict) return err;
  const known = UNIQUE_CONSTRAINTS[brokenUnique(err) ?? ''];
  if (!known) return undefined;
  return new StoreConflict(known[0], `another node already has this ${known[1]}`);
}
