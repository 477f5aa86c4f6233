import { listRoutes, type PrefixView } from '../../api/endpoints.ts';
import { useLive } from '../../api/live.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading } from '../../components/feedback.tsx';
import { exactTime } from '../../components/time.ts';
import { Link } from '../../router.tsx';

/** Every advertised prefix, its routers, which one is primary and why; kept current by live events. */
export function RoutesPage() {
  const routes = useResource(listRoutes);
  useLive(['node', 'route'], () => routes.reload());
  const items = routes.data?.items ?? [];
  return (
    <section aria-labelledby="routes-title">
      <h1 id="routes-title">Routes and exit nodes</h1>
      <ErrorNote error={routes.error} title="Could not load the routes" />
      {!routes.data && !routes.error && <Loading what="routes" />}
      {routes.data && (
        <>
          <RouteTable caption="Subnet routes" prefixes={items.filter((p) => !p.exitNode)} election />
          <RouteTable caption="Exit nodes" prefixes={items.filter((p) => p.exitNode)} election={false} />
        </>
      )}
    </section>
  );
}

function RouteTable(props: { caption: string; prefixes: PrefixView[]; election: boolean }) {
  return (
    <table class="plain">
      <caption>
        {props.caption} ({props.prefixes.length})
      </caption>
      <thead>
        <tr>
          <th scope="col">Prefix</th>
          {props.election && <th scope="col">Primary</th>}
          <th scope="col">Routers</th>
          <th scope="col">{props.election ? 'Why' : 'Note'}</th>
        </tr>
      </thead>
      <tbody>
        {props.prefixes.length === 0 && (
          <tr>
            <td colSpan={props.election ? 4 : 3}>None advertised.</td>
          </tr>
        )}
        {props.prefixes.map((p) => (
          <tr key={p.prefix}>
            <th scope="row" class="mono">
              {p.prefix}
            </th>
            {props.election && (
              <td>
                {p.primary ? (
                  <Link href={`/machines/${encodeURIComponent(p.primary.nodeId)}`}>{p.primary.name}</Link>
                ) : (
                  <span class="status expired">none</span>
                )}
                {p.changedAt && <div class="muted">since {exactTime(p.changedAt)}</div>}
              </td>
            )}
            <td>
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
            </td>
            <td>{p.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
