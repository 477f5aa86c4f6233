import type { KubeObject } from './objects.ts';
import { ApiError } from './status.ts';

/**
 * Server-side apply, kept small but true to its rules: each field manager owns the leaf fields
 * it applied; applying again sets its fields and removes the ones it owned and no longer
 * sends; a field another manager owns with a different value is a conflict (409) unless
 * `force`. Lists are atomic leaves. Ownership is kept in `metadata.managedFields` as
 * `{ manager, operation: 'Apply', fields: [...paths] }` (the stand-in's own, simpler spelling).
 */
type Json = Record<string, unknown>;
type Managed = { manager: string; operation: 'Apply'; fields: string[] };

const SYSTEM = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'managedFields']);

export function applyPatch(
  current: KubeObject | undefined,
  patch: KubeObject,
  manager: string,
  force: boolean,
): KubeObject {
  const applied = leaves(withoutSystem(patch));
  const managed: Managed[] = ((current?.metadata.managedFields as Managed[] | undefined) ?? []).map((m) => ({ ...m }));
  const base: Json = current
    ? structuredClone(current)
    : { apiVersion: patch.apiVersion, kind: patch.kind, metadata: {} };
  const conflicts: string[] = [];
  for (const [path, value] of applied) {
    const owner = managed.find((m) => m.manager !== manager && m.fields.includes(path));
    if (owner && JSON.stringify(get(base, path)) !== JSON.stringify(value)) {
      if (!force) conflicts.push(`conflict with "${owner.manager}": ${path}`);
      else owner.fields = owner.fields.filter((f) => f !== path);
    }
  }
  if (conflicts.length > 0)
    throw new ApiError(
      409,
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('; ')}`,
      'Conflict',
    );
  const mine = managed.find((m) => m.manager === manager);
  const others = new Set(managed.filter((m) => m.manager !== manager).flatMap((m) => m.fields));
  const paths = new Set(applied.map(([p]) => p));
  for (const old of mine?.fields ?? []) if (!paths.has(old) && !others.has(old)) remove(base, old);
  for (const [path, value] of applied) set(base, path, value);
  const next = managed.filter((m) => m.manager !== manager);
  next.push({ manager, operation: 'Apply', fields: [...paths] });
  (base.metadata as Json).managedFields = next;
  return base as KubeObject;
}

function withoutSystem(o: KubeObject): Json {
  const metadata = Object.fromEntries(Object.entries(o.metadata).filter(([k]) => !SYSTEM.has(k)));
  return { ...o, metadata };
}

/** `[path, value]` for every leaf; a path is its keys joined by NUL-free dots in JSON strings. */
function leaves(o: unknown, prefix: string[] = []): Array<[string, unknown]> {
  if (o === null || typeof o !== 'object' || Array.isArray(o) || (prefix.length > 0 && Object.keys(o).length === 0))
    return [[JSON.stringify(prefix), o]];
  return Object.entries(o as Json).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

function get(o: Json, path: string): unknown {
  return (JSON.parse(path) as string[]).reduce<unknown>((at, k) => (at as Json | undefined)?.[k], o);
}

function set(o: Json, path: string, value: unknown): void {
  const keys = JSON.parse(path) as string[];
  let at = o;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null || Array.isArray(at[k])) at[k] = {};
    at = at[k] as Json;
  }
  at[keys.at(-1)!] = structuredClone(value);
}

function remove(o: Json, path: string): void {
  const keys = JSON.parse(path) as string[];
  const parent = keys.slice(0, -1).reduce<Json | undefined>((at, k) => at?.[k] as Json | undefined, o);
  if (parent) delete parent[keys.at(-1)!];
}
