/**
 * Group membership, resolved once per policy: for each user and each identity-provider group,
 * every group that includes it directly or through nested groups.
 */
import type { GroupDefinition } from './model.ts';

interface GroupClosure {
  groupsOfUser: Map<string, Set<string>>;
  groupsOfIdpGroup: Map<string, Set<string>>;
  /** Each cycle once, as the path that returns to its start (`a -> b -> a`). */
  cycles: Array<{ group: string; path: string[] }>;
}

export function resolveGroups(groups: ReadonlyMap<string, GroupDefinition>): GroupClosure {
  const cycles: GroupClosure['cycles'] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (g: string): void => {
    state.set(g, 'open');
    stack.push(g);
    for (const child of groups.get(g)?.groups ?? []) {
      const s = state.get(child);
      if (s === 'open') cycles.push({ group: child, path: [...stack.slice(stack.indexOf(child)), child] });
      else if (s === undefined) visit(child);
    }
    stack.pop();
    state.set(g, 'done');
  };
  for (const g of groups.keys()) if (!state.has(g)) visit(g);

  // ancestors(g): g and every group that contains g, directly or not.
  const parents = new Map<string, string[]>();
  for (const def of groups.values()) {
    for (const child of def.groups) parents.set(child, [...(parents.get(child) ?? []), def.name]);
  }
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (g: string): Set<string> => {
    const known = ancestors.get(g);
    if (known) return known;
    const out = new Set<string>([g]);
    const todo = [g];
    while (todo.length > 0) {
      for (const p of parents.get(todo.pop() as string) ?? []) {
        if (!out.has(p)) {
          out.add(p);
          todo.push(p);
        }
      }
    }
    ancestors.set(g, out);
    return out;
  };

  const groupsOfUser = new Map<string, Set<string>>();
  const groupsOfIdpGroup = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, key: string, g: string) => {
    const set = map.get(key) ?? new Set<string>();
    for (const a of ancestorsOf(g)) set.add(a);
    map.set(key, set);
  };
  for (const def of groups.values()) {
    for (const u of def.users) add(groupsOfUser, u, def.name);
    for (const i of def.idpGroups) add(groupsOfIdpGroup, i, def.name);
  }
  return { groupsOfUser, groupsOfIdpGroup, cycles };
}

/** The groups a user belongs to: by email, and by the identity provider's groups claim. */
export function groupsOf(
  closure: Pick<GroupClosure, 'groupsOfUser' | 'groupsOfIdpGroup'>,
  email: string,
  idpGroups: readonly string[] = [],
): Set<string> {
  const direct = closure.groupsOfUser.get(email);
  if (idpGroups.length === 0) return direct ?? new Set();
  const out = new Set(direct);
  for (const i of idpGroups) for (const g of closure.groupsOfIdpGroup.get(i) ?? []) out.add(g);
  return out;
}
