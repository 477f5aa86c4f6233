/** How a batch of live events changes the machines list (console/src/pages/machines/live-patch.ts). */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../console/src/api/endpoints.ts';
import type { LiveEvent } from '../../protocol/live-events.ts';
import { patchMachines, upsertMachine } from '../../console/src/pages/machines/live-patch.ts';

const machine = (id: string, online = true): Machine =>
  ({ id, name: id, online, tags: [], advertisedRoutes: [], approvedRoutes: [] }) as unknown as Machine;
const at = '2026-12-02T06:00:00.000Z';
const ev = (type: LiveEvent['type'], nodeId?: string): LiveEvent => ({ type, at, ...(nodeId && { nodeId }) });

describe('patchMachines', () => {
  it('turns the named row offline (last seen at the event) and another online, touching no other row', () => {
    const list = [machine('a'), machine('b', false), machine('c')];
    const { items, fetch } = patchMachines(list, [ev('node.offline', 'a'), ev('node.online', 'b')]);
    expect(items.map((m) => [m.id, m.online])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
    ]);
    expect(items[0]!.lastSeen).toBe(at);
    expect(items[2]).toBe(list[2]);
    expect(fetch).toEqual([]);
  });

  it('drops a removed machine, and fetches joined and updated ones once each', () => {
    const { items, fetch } = patchMachines(
      [machine('a'), machine('b')],
      [ev('node.joined', 'n'), ev('node.updated', 'a'), ev('node.updated', 'n'), ev('node.removed', 'b')],
    );
    expect(items.map((m) => m.id)).toEqual(['a']);
    expect(fetch).toEqual(['n', 'a']);
  });

  it('does not fetch a machine removed later in the same batch, and fetches one it hears of only by presence', () => {
    const { fetch } = patchMachines([], [ev('node.joined', 'x'), ev('node.removed', 'x'), ev('node.online', 'y')]);
    expect(fetch).toEqual(['y']);
  });

  it("sets a machine's path counts from the event, and clears them when it goes offline", () => {
    const paths = { direct: 2, relay: 1, none: 0 };
    const list = [machine('a'), machine('b')];
    const moved = patchMachines(list, [{ ...ev('node.paths', 'a'), paths }]);
    expect(moved.items[0]!.paths).toEqual(paths);
    expect(moved.items[1]).toBe(list[1]);
    expect(moved.fetch).toEqual([]);
    expect(patchMachines(moved.items, [ev('node.offline', 'a')]).items[0]!.paths).toBeUndefined();
    expect(patchMachines(list, [{ ...ev('node.paths', 'z'), paths }]).fetch).toEqual(['z']);
  });

  it('ignores events that name no node', () => {
    const list = [machine('a')];
    expect(patchMachines(list, [ev('node.updated'), ev('route.primary')])).toEqual({ items: list, fetch: [] });
  });
});

describe('upsertMachine', () => {
  it('replaces a known machine in place and appends a new one', () => {
    const renamed = { ...machine('a'), name: 'renamed' };
    expect(upsertMachine([machine('a'), machine('b')], renamed).map((m) => m.name)).toEqual(['renamed', 'b']);
    expect(upsertMachine([machine('a')], machine('z')).map((m) => m.id)).toEqual(['a', 'z']);
  });
});
