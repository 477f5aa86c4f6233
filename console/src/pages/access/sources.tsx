import { useMemo } from 'preact/hooks';
import { listMachines, listUsers } from '../../api/endpoints.ts';
import { useResource } from '../../api/use-resource.ts';

/** Suggestions for a source or destination: machines, users, their groups, the tags in use. */
export function SourceSuggestions({ id, machinesOnly = false }: { id: string; machinesOnly?: boolean }) {
  const machines = useResource(listMachines);
  const users = useResource(listUsers);
  const options = useMemo(() => {
    const names = (machines.data?.items ?? []).map((m) => m.name);
    if (machinesOnly) return names;
    const tags = new Set((machines.data?.items ?? []).flatMap((m) => m.tags));
    const people = users.data?.items ?? [];
    const groups = new Set(people.flatMap((u) => u.groups.map((g) => `idp:${g}`)));
    return [...names, ...people.map((u) => u.email), ...tags, ...groups];
  }, [machines.data, users.data, machinesOnly]);
  return (
    <datalist id={id}>
      {options.slice(0, 500).map((o) => (
        <option key={o} value={o} />
      ))}
    </datalist>
  );
}
