import { and, eq, gt, isNull, like, or, sql } from 'drizzle-orm';
import { keyBytes, keyText } from '../../../protocol/keys.ts';
import type { NodeRecord } from '../records.ts';
import { StoreConflict, type NodePatch, type NodeRepository, type StoreConflictCode } from '../store.ts';
import type { SqliteDb } from './open.ts';
import { checkStorableTimes } from '../times.ts';
import { definedOnly, orUndefined } from '../rows.ts';
import type { RecordChange } from './changes.ts';
import { counters, nodes, preAuthKeys } from './schema.ts';

const ADDRESS_COUNTER = 'address-index';

export function sqliteNodes(db: SqliteDb, recordChange: RecordChange): NodeRepository {
  const toRecord = (row: typeof nodes.$inferSelect): NodeRecord => ({
    ...row,
    machineKey: keyText(row.machineKey),
    wireguardKey: keyText(row.wireguardKey),
    userId: orUndefined(row.userId),
    os: orUndefined(row.os),
    lastSeen: orUndefined(row.lastSeen),
    expiresAt: orUndefined(row.expiresAt),
    identity: orUndefined(row.identity),
    routePriority: orUndefined(row.routePriority),
  });

  /** Next index from a cursor that only grows, skipping addresses still held after a wrap. */
  const allocate = (addressFor: (i: number) => { ipv4: string; ipv6: string }) => {
    const row = db.select().from(counters).where(eq(counters.name, ADDRESS_COUNTER)).get();
    let index = (row?.value ?? 0) + 1;
    for (;;) {
      const candidate = addressFor(index);
      const held = db
        .select({ id: nodes.id })
        .from(nodes)
        .where(or(eq(nodes.ipv4, candidate.ipv4), eq(nodes.ipv6, candidate.ipv6)))
        .get();
      if (!held) {
        db.insert(counters)
          .values({ name: ADDRESS_COUNTER, value: index })
          .onConflictDoUpdate({ target: counters.name, set: { value: index } })
          .run();
        return candidate;
      }
      index++;
    }
  };

  const nameTaken = db
    .select({ id: nodes.id })
    .from(nodes)
    .where(eq(nodes.name, sql.placeholder('name')))
    .prepare();
  const uniqueName = (base: string) => {
    if (!nameTaken.get({ name: base })) return base;
    const taken = new Set(
      db
        .select({ name: nodes.name })
        .from(nodes)
        .where(like(nodes.name, `${base}-%`))
        .all()
        .map((r) => r.name),
    );
    for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
  };
  const byId = db
    .select()
    .from(nodes)
    .where(eq(nodes.id, sql.placeholder('id')))
    .prepare();
  const byMachineKey = db
    .select()
    .from(nodes)
    .where(eq(nodes.machineKey, sql.placeholder('key')))
    .prepare();

  /** Uses one of a pre-auth key, inside the caller's transaction; refuses one that cannot be used. */
  const consume = (use: { id: string; now: number }) => {
    const used = db
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
      .run();
    if (used.changes === 0) throw new StoreConflict('preauth_key.unusable', 'the pre-auth key can no longer be used');
  };

  const updateRow = (id: string, values: Partial<typeof nodes.$inferInsert>) => {
    try {
      return db.update(nodes).set(values).where(eq(nodes.id, id)).returning().get();
    } catch (err) {
      throw uniqueViolation(err) ?? err;
    }
  };

  return {
    async list() {
      return db.select().from(nodes).orderBy(nodes.createdAt).all().map(toRecord);
    },
    async get(id) {
      const row = byId.get({ id });
      return row && toRecord(row);
    },
    async getByMachineKey(machineKey) {
      const bytes = keyBytes(machineKey);
      const row = bytes && byMachineKey.get({ key: Buffer.from(bytes) });
      return row && toRecord(row);
    },
    async create(draft, options) {
      return db.transaction(() => {
        if (options.consumePreAuthKey) consume(options.consumePreAuthKey);
        const record: NodeRecord = { ...draft, ...allocate(options.addressFor), name: uniqueName(draft.name) };
        try {
          db.insert(nodes).values(insertRow(record)).run();
        } catch (err) {
          throw uniqueViolation(err) ?? err;
        }
        recordChange('node', record.id);
        return record;
      });
    },
    async update(id, patch, options = {}) {
      const values = patchRow(patch);
      if (Object.keys(values).length === 0 && !options.consumePreAuthKey) return this.get(id);
      return db.transaction(() => {
        const row =
          Object.keys(values).length === 0
            ? db.select().from(nodes).where(eq(nodes.id, id)).get()
            : updateRow(id, values);
        // A node that is gone uses up nothing.
        if (row && options.consumePreAuthKey) consume(options.consumePreAuthKey);
        if (row && Object.keys(values).length > 0) recordChange('node', id);
        return row && toRecord(row);
      });
    },
    async delete(id) {
      return db.transaction(() => {
        const gone = db.delete(nodes).where(eq(nodes.id, id)).run().changes > 0;
        if (gone) recordChange('node', id);
        return gone;
      });
    },
  };
}

const TIMES = ['lastSeen', 'expiresAt', 'createdAt'] as const;

/** A record as its row holds it: keys as their bytes, times checked. */
function insertRow(record: NodeRecord) {
  checkStorableTimes(record, TIMES);
  return { ...record, machineKey: storedKey(record.machineKey), wireguardKey: storedKey(record.wireguardKey) };
}

function patchRow(patch: NodePatch) {
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

const UNIQUE_COLUMNS: Record<string, StoreConflictCode> = {
  name: 'node.name_taken',
  machine_key: 'node.machine_key_taken',
  wireguard_key: 'node.wireguard_key_taken',
  ipv4: 'node.address_taken',
  ipv6: 'node.address_taken',
};

function uniqueViolation(err: unknown): StoreConflict | undefined {
  const message = (err as Error)?.message ?? '';
  const m = /UNIQUE constraint failed: nodes\.(\w+)/.exec(message);
  if (!m) return undefined;
  const column = m[1]!;
  const code = UNIQUE_COLUMNS[column];
  if (!code) return undefined;
  return new StoreConflict(code, `another node already has this ${column.replace('_', ' ')}`, { cause: err });
}
