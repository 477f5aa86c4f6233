import type { AuditRecord, LoginSessionRecord, PresenceRecord } from './records.ts';
import { checkStorableTimes } from './times.ts';

/** SQL gives NULL for absent values; records use undefined. */
export function orUndefined<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/** Drops keys whose value is undefined, so a patch never writes NULL by accident. */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** An audit row as both drivers read it: the optional columns NULL when absent. */
type AuditRow = Pick<AuditRecord, 'id' | 'at' | 'kind' | 'outcome' | 'message'> & {
  [K in 'actor' | 'method' | 'identity' | 'nodeId' | 'source' | 'code']: AuditRecord[K] | null;
};

export function auditRecordOf(row: AuditRow): AuditRecord {
  const r: AuditRecord = { id: row.id, at: row.at, kind: row.kind, outcome: row.outcome, message: row.message };
  for (const k of ['actor', 'method', 'identity', 'nodeId', 'source', 'code'] as const) {
    const v = orUndefined(row[k]);
    if (v !== undefined) r[k] = v;
  }
  return r;
}

type LoginOptional = 'browserBinding' | 'userId' | 'email' | 'proof' | 'error';

/** A sign-in row as both drivers read it: the optional columns NULL when absent. */
type LoginSessionRow = Omit<LoginSessionRecord, LoginOptional> & {
  [K in LoginOptional]: LoginSessionRecord[K] | null;
};

export function loginSessionOf(row: LoginSessionRow): LoginSessionRecord {
  const { browserBinding, userId, email, proof, error, ...rest } = row;
  return definedOnly({
    ...rest,
    browserBinding: orUndefined(browserBinding),
    userId: orUndefined(userId),
    email: orUndefined(email),
    proof: orUndefined(proof),
    error: orUndefined(error),
  }) as LoginSessionRecord;
}

/** A presence row as both drivers read it: the optional columns NULL when absent. */
type PresenceRow = Pick<PresenceRecord, 'nodeId' | 'replicaId' | 'since'> & {
  observedEndpoint: string | null;
  routeHealth?: unknown;
  paths?: unknown;
  leaseUntil: number | null;
};

export function presenceRecordOf({
  observedEndpoint,
  routeHealth,
  paths,
  leaseUntil,
  ...rest
}: PresenceRow): PresenceRecord {
  return {
    ...rest,
    ...(observedEndpoint !== null && { observedEndpoint }),
    ...(routeHealth !== null && routeHealth !== undefined && { routeHealth }),
    ...(paths !== null && paths !== undefined && { paths }),
    ...(leaseUntil !== null && { leaseUntil }),
  };
}

/**
 * The row a presence record is stored as. `record.leaseUntil` is not written: a leased row ends
 * at `leaseEnd(leaseMs)`, the driver's SQL for the database's now plus that.
 */
export function presenceRowOf<L>(
  { leaseUntil: _, ...record }: PresenceRecord,
  leaseMs: number | undefined,
  leaseEnd: (leaseMs: number) => L,
) {
  checkStorableTimes(record, ['since']);
  return {
    ...record,
    observedEndpoint: record.observedEndpoint ?? null,
    routeHealth: record.routeHealth ?? null,
    paths: record.paths ?? null,
    leaseUntil: leaseMs === undefined ? null : leaseEnd(leaseMs),
  };
}
