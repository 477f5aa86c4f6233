import { useMemo } from 'preact/hooks';
import { listMachines, listRoutes, type Machine, type PrefixRouters } from '../../api/endpoints.ts';
import { useLive } from '../../api/live.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading } from '../../components/feedback.tsx';
import { Link } from '../../router.tsx';
import { isExitRoute } from '../machines/machine-filter.ts';

/**
 * Every advertised prefix, its routers and which one carries it. The server's route election
 * (GET /api/v1/routes) says which router is primary and why; a server without it still has the
 * routers each machine advertises, which the page then shows without a primary.
 */
export function RoutesPage() {
  const routes = useResource(() => listRoutes().catch(() => undefined));
  const machines = useResource(listMachines);
  useLive(['node', 'route'], () => {
    routes.reload();
    machines.reload();
  });
  const prefixes = useMemo(
    () => routes.data?.items ?? fromMachines(machines.data?.items ?? []),
    [routes.data, machines.data],
  );
  const exits = prefixes.filter((p) => isExitRoute(p.prefix));
  const subnets = prefixes.filter((p) => !isExitRoute(p.prefix));
  return (
    <section aria-labelledby="routes-title">
      <h1 id="routes-title">Routes and exit nodes</h1>
      <ErrorNote error={machines.error} title="Could not load the routes" />
      {!machines.data && !machines.error && <Loading what="routes" />}
      {machines.data && (
        <>
          <RouteTable caption="Subnet routes" prefixes={subnets} electing={!!routes.data} />
          <RouteTable caption="Exit nodes" prefixes={exits} electing={!!routes.data} />
        </>
      )}
    </section>
  );
}

function fromMachines(machines: Machine[]): PrefixRouters[] {
  const byPrefix = new Map<string, PrefixRouters>();
  for (const m of machines) {
    for (const prefix of m.advertisedRoutes) {
      const entry = byPrefix.get(prefix) ?? { prefix, routers: [] };
      entry.routers.push({
        nodeId: m.id,
        name: m.name,
        online: m.online,
        approved: m.approvedRoutes.includes(prefix),
        primary: false,
      });
      byPrefix.set(prefix, entry);
    }
  }
  return [...byPrefix.values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
}

function RouteTable({
  caption,
  prefixes,
  electing,
}: {
  caption: string;
  prefixes: PrefixRouters[];
  electing: boolean;
}) {
  return (
    <table class="plain">
      <caption>
        {caption} ({prefixes.length})
      </caption>
      <thead>
        <tr>
          <th scope="col">Prefix</th>
          <th scope="col">Routers</th>
          <th scope="col">Primary</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {prefixes.length === 0 && (
          <tr>
            <td colSpan={4}>None advertised.</td>
          </tr>
        )}
        {prefixes.map((p) => {
          const primary = p.routers.find((r) => r.primary);
          return (
            <tr key={p.prefix}>
              <th scope="row" class="mono">
                {p.prefix}
              </th>
              <td>
                <ul class="routers">
                  {p.routers.map((r) => (
                    <li key={r.nodeId}>
                      <Link href={`/machines/${encodeURIComponent(r.nodeId)}`}>{r.name}</Link>{' '}
                      <span class={`status ${r.online ? 'online' : 'offline'}`}>{r.online ? 'online' : 'offline'}</span>
                      {!r.approved && <span class="badge warn">not approved</span>}
                    </li>
                  ))}
                </ul>
              </td>
              <td>{primary ? primary.name : electing ? 'none (no approved router online)' : 'not reported'}</td>
              <td>{p.reason ?? '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
