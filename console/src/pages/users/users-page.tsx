import { useMemo, useState } from 'preact/hooks';
import { expireUserMachines, listMachines, listUsers, type Machine, type UserView } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { useLive } from '../../api/live.ts';
import { may, type Session } from '../../api/session.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading, Notice } from '../../components/feedback.tsx';
import { Link } from '../../router.tsx';

/** Users with their identity provider's groups and their machines; the groups as the provider gives them. */
export function UsersPage({ session }: { session: Session }) {
  const users = useResource(listUsers);
  const machines = useResource(listMachines);
  useLive(['node'], () => machines.reload());
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState('');
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
    if (
      !confirm(
        `Expire the keys of ${own.length} machine(s) of ${u.email}? They disconnect until ${u.email} signs in again.`,
      )
    )
      return;
    setError(undefined);
    setDone('');
    try {
      const expired = await expireUserMachines(u.id);
      setDone(`Expired ${expired.items.length} machine(s) of ${u.email}.`);
      machines.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and groups</h1>
      <ErrorNote error={users.error ?? machines.error} title="Could not load the users" />
      <ErrorNote error={error} />
      {done && <Notice>{done}</Notice>}
      {!users.data && !users.error && <Loading what="users" />}
      {users.data && (
        <table class="plain">
          <caption>Users ({users.data.items.length})</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Identity provider groups</th>
              <th scope="col">Machines</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data.items.map((u) => {
              const own = byUser.get(u.email) ?? [];
              return (
                <tr key={u.id}>
                  <th scope="row">
                    {u.displayName !== u.email && <span class="name">{u.displayName}</span>} <span>{u.email}</span>
                  </th>
                  <td>{u.groups.join(', ') || '—'}</td>
                  <td>
                    {own.length === 0
                      ? 'none'
                      : own.map((m, i) => (
                          <span key={m.id}>
                            {i > 0 && ', '}
                            <Link href={`/machines/${encodeURIComponent(m.id)}`}>{m.name}</Link>
                          </span>
                        ))}
                  </td>
                  <td>
                    {may(session, 'users') && own.length > 0 && (
                      <button type="button" onClick={() => void expireAll(u)}>
                        Expire machines of {u.email}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {groups.length > 0 && (
        <table class="plain">
          <caption>Identity provider groups ({groups.length}); a policy names them as idp:GROUP</caption>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Members</th>
            </tr>
          </thead>
          <tbody>
            {groups.map(([g, members]) => (
              <tr key={g}>
                <th scope="row">{g}</th>
                <td>{members.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
