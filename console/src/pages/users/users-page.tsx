import { useMemo } from 'preact/hooks';
import { expireUserMachines, listMachines, listUsers, type Machine, type UserView } from '../../api/endpoints.ts';
import { may, type Session } from '../../api/session.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import { useConfirm } from '../../components/confirm-dialog.tsx';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { ActionResult, ErrorNote } from '../../components/feedback.tsx';
import { Loaded } from '../../components/loaded.tsx';
import { Link } from '../../router.tsx';
import { useLiveMachines } from '../machines/use-live-machines.ts';

/** Users with their identity provider's groups and their machines; the groups as the provider gives them. */
export function UsersPage({ session }: { session: Session }) {
  const users = useResource(listUsers);
  const machines = useResource(listMachines);
  // A machine of someone the list does not know yet: they signed in since it loaded.
  useLiveMachines(machines, {
    onFetched: (m) => m.user && users.data && !users.data.items.some((u) => u.email === m.user) && users.reload(),
  });
  const action = useAction();
  const [dialog, ask] = useConfirm();
  const byUser = useMemo(() => {
    const map = new Map<string, Machine[]>();
    for (const m of machines.data?.items ?? []) {
      if (m.user && m.tags.length === 0) map.set(m.user, [...(map.get(m.user) ?? []), m]);
    }
    return map;
  }, [machines.data]);
  const groups = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const u of users.data?.items ?? []) for (const g of u.groups) map.set(g, [...(map.get(g) ?? []), u.email]);
    return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [users.data]);

  const expireAll = async (u: UserView) => {
    const own = byUser.get(u.email) ?? [];
    const yes = await ask({
      title: `Expire the machines of ${u.email}?`,
      body: `The keys of ${own.length} machine${own.length === 1 ? '' : 's'} expire: they disconnect until ${u.email} signs in again on each.`,
      confirm: 'Expire machines',
      danger: true,
    });
    if (!yes) return;
    const done = await action.run(
      () => expireUserMachines(u.id),
      (expired) => `Expired ${expired.items.length} machine(s) of ${u.email}.`,
    );
    if (done) machines.reload();
  };

  const columns: Column<UserView>[] = [
    {
      header: 'User',
      rowHeader: true,
      cell: (u) => (
        <>
          {u.displayName !== u.email && <span class="name">{u.displayName}</span>} <span>{u.email}</span>
        </>
      ),
    },
    { header: 'Identity provider groups', cell: (u) => u.groups.join(', ') || '—' },
    {
      header: 'Machines',
      cell: (u) => {
        const own = byUser.get(u.email) ?? [];
        if (!machines.data) return machines.error ? 'unknown' : '…';
        return own.length === 0
          ? 'none'
          : own.map((m, i) => (
              <span key={m.id}>
                {i > 0 && ', '}
                <Link href={`/machines/${encodeURIComponent(m.id)}`}>{m.name}</Link>
              </span>
            ));
      },
    },
    {
      header: 'Actions',
      hiddenHeader: true,
      cell: (u) =>
        may(session, 'users') &&
        (byUser.get(u.email)?.length ?? 0) > 0 && (
          <button type="button" onClick={() => void expireAll(u)}>
            Expire machines of {u.email}
          </button>
        ),
    },
  ];

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and groups</h1>
      <ActionResult action={action} />
      {dialog}
      <ErrorNote error={machines.error} title="Could not load the machines" retry={machines.reload} />
      <Loaded resource={users} what="the users">
        {(data) => (
          <>
            <DataTable
              caption={`Users (${data.items.length})`}
              rows={data.items}
              columns={columns}
              rowKey={(u) => u.id}
              empty="Nobody has signed in yet, and no user was created."
            />
            <DataTable
              caption={<>Identity provider groups ({groups.length}); a policy names them as idp:GROUP</>}
              rows={groups}
              columns={GROUP_COLUMNS}
              rowKey={([g]) => g}
              empty="The identity provider has sent no groups for these users."
            />
          </>
        )}
      </Loaded>
    </section>
  );
}

const GROUP_COLUMNS: Column<[string, string[]]>[] = [
  { header: 'Group', rowHeader: true, cell: ([g]) => g },
  { header: 'Members', cell: ([, members]) => members.join(', ') },
];
