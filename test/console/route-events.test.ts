/** Which live events make the routes page load the route table again (console/src/pages/routes/route-events.ts). */
import { describe, expect, it } from 'vitest';
import type { PrefixView } from '../../protocol/admin.ts';
import type { LiveEvent } from '../../protocol/live-events.ts';
import { touchesRoutes } from '../../console/src/pages/routes/route-events.ts';

const table = [{ prefix: '10.0.0.0/24', routers: [{ nodeId: 'r1' }, { nodeId: 'r2' }] }] as unknown as PrefixView[];
const ev = (type: LiveEvent['type'], nodeId?: string): LiveEvent => ({ type, at: '', ...(nodeId && { nodeId }) });

describe('touchesRoutes', () => {
  it('is true for a primary moving, and for any node joining or changing (it may advertise or be approved)', () => {
    expect(touchesRoutes(table, [ev('route.primary', 'r2')])).toBe(true);
    expect(touchesRoutes(table, [ev('node.joined', 'n')])).toBe(true);
    expect(touchesRoutes(table, [ev('node.updated', 'laptop')])).toBe(true);
  });

  it("is true for a router's presence or removal, false for a machine that routes nothing", () => {
    for (const type of ['node.online', 'node.offline', 'node.removed'] as const) {
      expect(touchesRoutes(table, [ev(type, 'r1')])).toBe(true);
      expect(touchesRoutes(table, [ev(type, 'laptop')])).toBe(false);
    }
  });

  it('ignores policy changes', () => {
    expect(touchesRoutes(table, [ev('policy.changed')])).toBe(false);
  });
});
