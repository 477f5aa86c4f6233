import type { Machine } from '../../api/endpoints.ts';

export type StatusFilter = 'all' | 'online' | 'offline' | 'expired' | 'pending-routes' | 'exit-nodes';

export interface IndexedMachine {
  machine: Machine;
  /** Everything the search box matches, lower-cased once per list rather than per keystroke. */
  text: string;
}

export const isExitRoute = (r: string) => r === '0.0.0.0/0' || r === '::/0';

export function indexMachines(machines: readonly Machine[]): IndexedMachine[] {
  return machines.map((m) => ({
    machine: m,
    text: [m.name, m.user ?? '', ...m.tags, m.ipv4, m.ipv6, m.os ?? '', ...m.advertisedRoutes, m.id]
      .join('\u0000')
      .toLowerCase(),
  }));
}

export function isExpired(m: Machine, now: number): boolean {
  return m.expiresAt !== undefined && Date.parse(m.expiresAt) <= now;
}

export function pendingRoutes(m: Machine): string[] {
  return m.advertisedRoutes.filter((r) => !m.approvedRoutes.includes(r));
}

/** The machines a search and a status filter keep: every word of the search must match. */
export function filterMachines(all: readonly IndexedMachine[], search: string, status: StatusFilter, now: number) {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  const keep = (m: Machine): boolean => {
    switch (status) {
      case 'all':
        return true;
      case 'online':
        return m.online;
      case 'offline':
        return !m.online;
      case 'expired':
        return isExpired(m, now);
      case 'pending-routes':
        return pendingRoutes(m).length > 0;
      case 'exit-nodes':
        return m.advertisedRoutes.some(isExitRoute);
    }
  };
  const out: Machine[] = [];
  for (const { machine, text } of all) {
    if (keep(machine) && words.every((w) => text.includes(w))) out.push(machine);
  }
  return out;
}
