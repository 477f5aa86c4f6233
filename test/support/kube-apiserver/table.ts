import type { KubeObject } from './objects.ts';

/**
 * `kubectl get` asks for a server-side Table (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`);
 * these are the stand-in's columns per kind. Watch events carry one-row tables, the column
 * definitions only in the first event, as the real API server sends them.
 */
type Column = { name: string; type: string; format: string; description: string; priority: number };

const col = (name: string, format = ''): Column => ({ name, type: 'string', format, description: name, priority: 0 });

const COLUMNS: Record<string, { columns: Column[]; cells: (o: KubeObject, age: string) => unknown[] }> = {
  Pod: {
    columns: [col('Name', 'name'), col('Ready'), col('Status'), col('Restarts'), col('Age')],
    cells: (o, age) => [
      o.metadata.name,
      '1/1',
      (o.status as { phase?: string } | undefined)?.phase ?? 'Pending',
      0,
      age,
    ],
  },
  ConfigMap: {
    columns: [col('Name', 'name'), col('Data'), col('Age')],
    cells: (o, age) => [o.metadata.name, Object.keys((o.data as object | undefined) ?? {}).length, age],
  },
  Namespace: {
    columns: [col('Name', 'name'), col('Status'), col('Age')],
    cells: (o, age) => [o.metadata.name, 'Active', age],
  },
};

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

export function table(kind: string, objects: KubeObject[], now: number, resourceVersion: string, headers = true) {
  const spec = COLUMNS[kind]!;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: headers ? spec.columns : [],
    rows: objects.map((o) => ({
      cells: spec.cells(o, age(o, now)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

function age(o: KubeObject, now: number): string {
  const created = Date.parse(o.metadata.creationTimestamp ?? '');
  const s = Number.isNaN(created) ? 0 : Math.max(0, Math.floor((now - created) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}
