import { useMemo, useState } from 'preact/hooks';
import { listMachines, type Machine } from '../../api/endpoints.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading } from '../../components/feedback.tsx';
import { exactTime, relativeTime } from '../../components/time.ts';
import { VirtualTable, type Column } from '../../components/virtual-table.tsx';
import { Link } from '../../router.tsx';
import {
  filterMachines,
  indexMachines,
  isExitRoute,
  isExpired,
  pendingRoutes,
  type StatusFilter,
} from './machine-filter.ts';
import { pathCell, pathDetail } from './path-text.ts';
import { useLiveMachines } from './use-live-machines.ts';

const ROW_HEIGHT = 56;

export function MachinesPage() {
  const machines = useResource(listMachines);
  useLiveMachines(machines);
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<StatusFilter>('all');
  const indexed = useMemo(() => indexMachines(machines.data?.items ?? []), [machines.data]);
  const now = Date.now();
  const shown = useMemo(() => filterMachines(indexed, search, status, now), [indexed, search, status]);

  return (
    <section aria-labelledby="machines-title">
      <h1 id="machines-title">Machines</h1>
      <div class="toolbar" role="search">
        <label>
          Search
          <input
            type="search"
            value={search}
            placeholder="name, user, tag, address, OS, route"
            onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Show
          <select
            value={status}
            onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value as StatusFilter)}
          >
            <option value="all">all machines</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
            <option value="expired">key expired</option>
            <option value="pending-routes">routes awaiting approval</option>
            <option value="exit-nodes">exit nodes</option>
          </select>
        </label>
        <p class="count" role="status" aria-live="polite">
          {machines.data ? `${shown.length} of ${indexed.length} machines` : ''}
        </p>
      </div>
      <ErrorNote error={machines.error} title="Could not load the machines" />
      {!machines.data && !machines.error && <Loading what="machines" />}
      {machines.data && (
        <VirtualTable
          label="Machines"
          rows={shown}
          columns={columns(now)}
          rowKey={(m) => m.id}
          rowHeight={ROW_HEIGHT}
          empty={indexed.length === 0 ? 'No machines have joined yet.' : 'No machine matches.'}
        />
      )}
    </section>
  );
}

function columns(now: number): Column<Machine>[] {
  return [
    {
      header: 'Machine',
      width: '14%',
      cell: (m) => (
        <>
          <Link href={`/machines/${encodeURIComponent(m.id)}`}>{m.name}</Link>
          {m.ephemeral && <span class="badge">ephemeral</span>}
        </>
      ),
    },
    {
      header: 'Owner',
      width: '15%',
      cell: (m) =>
        m.tags.length > 0 ? (
          m.tags.map((t) => (
            <span class="badge tag" key={t}>
              {t}
            </span>
          ))
        ) : (
          <span>{m.user ?? '—'}</span>
        ),
    },
    {
      header: 'Addresses',
      width: '14%',
      cell: (m) => (
        <span class="addresses">
          <span>{m.ipv4}</span>
          <small>{m.ipv6}</small>
        </span>
      ),
    },
    { header: 'OS', width: '6%', cell: (m) => m.os ?? '—' },
    {
      header: 'Status',
      width: '12%',
      cell: (m) =>
        m.online ? (
          <span class="status online">Online</span>
        ) : (
          <span class="status offline" title={exactTime(m.lastSeen)}>
            Offline{m.lastSeen ? `, ${relativeTime(m.lastSeen, now)}` : ''}
          </span>
        ),
    },
    {
      header: 'Key expiry',
      width: '9%',
      cell: (m) =>
        !m.expiresAt ? (
          'never'
        ) : isExpired(m, now) ? (
          <span class="status expired" title={exactTime(m.expiresAt)}>
            expired
          </span>
        ) : (
          <span title={exactTime(m.expiresAt)}>{relativeTime(m.expiresAt, now)}</span>
        ),
    },
    { header: 'Path', width: '6%', cell: (m) => <span title={pathDetail(m.paths)}>{pathCell(m.paths)}</span> },
    {
      header: 'Routes',
      width: '14%',
      cell: (m) => {
        const subnets = m.advertisedRoutes.filter((r) => !isExitRoute(r));
        if (subnets.length === 0) return '—';
        const pending = pendingRoutes(m).filter((r) => !isExitRoute(r)).length;
        return (
          <span>
            {subnets.length - pending}/{subnets.length} approved
            {pending > 0 && <span class="badge warn">{pending} awaiting</span>}
          </span>
        );
      },
    },
    {
      header: 'Exit node',
      width: '7%',
      cell: (m) =>
        !m.advertisedRoutes.some(isExitRoute) ? '—' : m.approvedRoutes.some(isExitRoute) ? 'yes' : 'offered',
    },
  ];
}
