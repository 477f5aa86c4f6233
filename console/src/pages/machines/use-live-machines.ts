import { getMachine, type Machine } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { useLive } from '../../api/live.ts';
import type { Resource } from '../../api/use-resource.ts';
import { patchMachines, upsertMachine } from './live-patch.ts';

/**
 * Keeps a loaded list of machines current from live events, for every page that shows one:
 * each event patches the one machine it names (fetched alone when only the server knows its new
 * state); a stream that broke and came back may have missed events, so then the list loads again,
 * once. `onFetched` hears of every machine fetched that way (a page may need more than the row).
 */
export function useLiveMachines(
  machines: Resource<{ items: Machine[] }>,
  opts: { onFetched?: (m: Machine) => void } = {},
): void {
  useLive(
    ['node'],
    (events) => {
      if (!machines.data) return; // the list being loaded answers these already
      machines.update((d) => ({ ...d, items: patchMachines(d.items, events).items }));
      for (const id of patchMachines(machines.data.items, events).fetch) {
        getMachine(id).then(
          (m) => {
            machines.update((d) => ({ ...d, items: upsertMachine(d.items, m) }));
            opts.onFetched?.(m);
          },
          // Gone before we asked: as if removed. Any other failure: the next event or reopen heals.
          (e: ApiError) =>
            e.status === 404 && machines.update((d) => ({ ...d, items: d.items.filter((m) => m.id !== id) })),
        );
      }
    },
    { onReopen: () => machines.reload() },
  );
}
