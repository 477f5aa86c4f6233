import type { PrefixView } from '../../../../protocol/admin.ts';
import type { LiveEvent } from '../../../../protocol/live-events.ts';

/**
 * Whether a batch of live events may change the route table as loaded: a primary moved, a node
 * joined or changed (it may advertise, or have approved, a prefix), or one of the table's routers
 * went online, offline or away. Presence changes of machines that route nothing leave it as it is,
 * so a busy mesh does not reload the table for every laptop.
 */
export function touchesRoutes(items: PrefixView[], events: LiveEvent[]): boolean {
  let routers: Set<string> | undefined;
  return events.some((e) => {
    if (e.type === 'route.primary' || e.type === 'node.joined' || e.type === 'node.updated') return true;
    if (e.type !== 'node.online' && e.type !== 'node.offline' && e.type !== 'node.removed') return false;
    routers ??= new Set(items.flatMap((p) => p.routers.map((r) => r.nodeId)));
    return e.nodeId === undefined || routers.has(e.nodeId);
  });
}
