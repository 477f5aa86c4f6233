import type { Machine } from '../../api/endpoints.ts';
import type { LiveEvent } from '../../../../protocol/live-events.ts';

/**
 * What a batch of live events does to the machines list: online, offline and path counts change
 * the row itself (an offline machine has no paths), removed drops it, and joined or updated name a machine whose new state only the
 * server knows (fetched one by one, never the whole list).
 */
export interface LivePatch {
  items: Machine[];
  /** Machines to fetch again (GET /api/v1/nodes/:id), in event order, each once. */
  fetch: string[];
}

export function patchMachines(items: Machine[], events: LiveEvent[]): LivePatch {
  let next = items;
  const fetch = new Set<string>();
  for (const e of events) {
    const id = e.nodeId;
    if (!id) continue;
    switch (e.type) {
      case 'node.online':
      case 'node.offline': {
        const online = e.type === 'node.online';
        next = next.map((m) =>
          m.id !== id ? m : online ? { ...m, online } : { ...m, online, lastSeen: e.at, paths: undefined },
        );
        // A presence change about a machine not in the list: it joined while we were not told.
        if (!next.some((m) => m.id === id)) fetch.add(id);
        break;
      }
      case 'node.paths':
        next = next.map((m) => (m.id === id ? { ...m, paths: e.paths } : m));
        if (!next.some((m) => m.id === id)) fetch.add(id);
        break;
      case 'node.removed':
        next = next.filter((m) => m.id !== id);
        fetch.delete(id);
        break;
      case 'node.joined':
      case 'node.updated':
        fetch.add(id);
        break;
      default:
        break;
    }
  }
  return { items: next, fetch: [...fetch] };
}

/** The list with `machine` in place of its old row, or added at the end when it is new. */
export function upsertMachine(items: Machine[], machine: Machine): Machine[] {
  return items.some((m) => m.id === machine.id)
    ? items.map((m) => (m.id === machine.id ? machine : m))
    : [...items, machine];
}
