import { listRoutes, type PrefixView } from '../../api/endpoints.ts';
import { useLive } from '../../api/live.ts';
import { useResource } from '../../api/use-resource.ts';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { Loaded } from '../../components/loaded.tsx';
import { exactTime } from '../../components/time.ts';
import { Link } from '../../router.tsx';
import { touchesRoutes } from './route-events.ts';

/** Every advertised prefix, its routers, which one is primary and why; kept current by live events. */
export function RoutesPage() {
  const routes = useResource(listRoutes);
  // Each prefix's roles and reasons are the server's election, so a change loads the table again
  // (one request, debounced) rather than guessing it here; a broken stream's reopen does too.
  useLive(['node', 'route'], (events) => routes.data && touchesRoutes(routes.data.items, events) && routes.reload(), {
    onReopen: () => routes.reload(),
  });
  return (
    <section aria-labelledby="routes-title">
      <h1 id="routes-title">Routes and exit nodes</h1>
      <Loaded resource={routes} what="the routes">
        {({ items }) => (
          <>
            <DataTable
              caption={`Subnet routes (${items.filter((p) => !p.exitNode).length})`}
              rows={items.filter((p) => !p.exitNode)}
              columns={SUBNET_COLUMNS}
              rowKey={(p) => p.prefix}
              empty="No machine advertises a subnet route."
            />
            <DataTable
              caption={`Exit nodes (${items.filter((p) => p.exitNode).length})`}
              rows={items.filter((p) => p.exitNode)}
              columns={EXIT_COLUMNS}
              rowKey={(p) => p.prefix}
              empty="No machine offers to be an exit node."
            />
          </>
        )}
      </Loaded>
    </section>
  );
}

const PREFIX: Column<PrefixView> = { header: 'Prefix', rowHeader: true, class: 'mono', cell: (p) => p.prefix };

const PRIMARY: Column<PrefixView> = {
  header: 'Primary',
  cell: (p) => (
    <>
      {p.primary ? (
        <Link href={`/machines/${encodeURIComponent(p.primary.nodeId)}`}>{p.primary.name}</Link>
      ) : (
        <span class="status expired">none</span>
      )}
      {p.changedAt && <div class="muted">since {exactTime(p.changedAt)}</div>}
    </>
  ),
};

const ROUTERS: Column<PrefixView> = {
  header: 'Routers',
  cell: (p) => (
    <ul class="routers">
      {p.routers.map((r) => (
        <li key={r.nodeId}>
          <Link href={`/machines/${encodeURIComponent(r.nodeId)}`}>{r.name}</Link>{' '}
          <span class={`status ${r.role === 'primary' ? 'online' : r.role === 'standby' ? '' : 'offline'}`}>
            {r.role}
          </span>
          <span class="muted">
            {' '}
            priority {r.priority}, {r.online ? 'online' : 'offline'}: {r.reason}
          </span>
        </li>
      ))}
    </ul>
  ),
};

const SUBNET_COLUMNS = [PREFIX, PRIMARY, ROUTERS, { header: 'Why', cell: (p: PrefixView) => p.reason }];
const EXIT_COLUMNS = [PREFIX, ROUTERS, { header: 'Note', cell: (p: PrefixView) => p.reason }];
