import { useState } from 'preact/hooks';
import {
  approveRoutes,
  deleteMachine,
  expireMachine,
  getMachine,
  renameMachine,
  tagMachine,
  type Machine,
} from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { useLive } from '../../api/live.ts';
import { may, type Session } from '../../api/session.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import { useConfirm } from '../../components/confirm-dialog.tsx';
import { ActionResult, ErrorNote, Loading } from '../../components/feedback.tsx';
import { exactTime, relativeTime } from '../../components/time.ts';
import { Link, navigate } from '../../router.tsx';
import { patchMachines } from './live-patch.ts';
import { isExitRoute, isExpired } from './machine-filter.ts';
import { pathDetail } from './path-text.ts';

export function MachinePage({ id, session }: { id: string; session: Session }) {
  const machine = useResource(() => getMachine(id), [id]);
  const [removedId, setRemovedId] = useState<string>();
  // The list's live patch on a list of one: only this machine's events, fetched again only when
  // only the server knows its new state, loaded again after the stream broke.
  useLive(
    ['node'],
    (events) => {
      if (!machine.data) return;
      const { items, fetch } = patchMachines(
        [machine.data],
        events.filter((e) => e.nodeId === id),
      );
      const [patched] = items;
      if (!patched) return setRemovedId(id);
      machine.update(() => patched);
      if (fetch.length > 0)
        getMachine(id).then(
          (m) => machine.update(() => m),
          (e: ApiError) => e.status === 404 && setRemovedId(id),
        );
    },
    { onReopen: () => machine.reload() },
  );
  const action = useAction();
  const [dialog, ask] = useConfirm();
  const canChange = may(session, 'nodes');
  const canRoute = may(session, 'routes');

  const act = async (what: string, change: () => Promise<unknown>) => {
    if (await action.run(change, what)) machine.reload();
  };

  if (machine.error)
    return <ErrorNote error={machine.error} title="Could not load the machine" retry={machine.reload} />;
  const m = machine.data;
  if (!m) return <Loading what="the machine" />;
  if (removedId === id)
    return (
      <section aria-labelledby="machine-title">
        <h1 id="machine-title">{m.name}</h1>
        <p class="note" role="status">
          This machine was removed (deleted, expired or ephemeral). <Link href="/machines">All machines</Link>
        </p>
      </section>
    );
  const expire = async () => {
    const yes = await ask({
      title: `Expire the key of ${m.name}?`,
      body: 'The machine disconnects until its owner signs in on it again.',
      confirm: 'Expire key',
      danger: true,
    });
    if (yes) await act('Key expired.', () => expireMachine(m.id));
  };
  const remove = async () => {
    const yes = await ask({
      title: `Delete ${m.name}?`,
      body: "It leaves every peer's map at once; to come back it must join again.",
      confirm: 'Delete machine',
      danger: true,
    });
    if (yes && (await action.run(() => deleteMachine(m.id)))) navigate('/machines');
  };
  return (
    <section aria-labelledby="machine-title">
      <p>
        <Link href="/machines">← All machines</Link>
      </p>
      <h1 id="machine-title">{m.name}</h1>
      <Facts m={m} />
      <p>
        <Link href={`/access/preview?src=${encodeURIComponent(m.name)}`}>What can {m.name} reach?</Link>
      </p>
      <ActionResult action={action} />
      {dialog}
      {!canChange && (
        <p class="muted">Your role can view this machine but not change it{canRoute ? ', except its routes' : ''}.</p>
      )}
      <div class="actions">
        {canChange && (
          <>
            <RenameForm m={m} onSave={(name) => act(`Renamed to ${name}.`, () => renameMachine(m.id, name))} />
            <TagsForm m={m} onSave={(tags) => act('Tags saved.', () => tagMachine(m.id, tags))} />
          </>
        )}
        {canRoute && m.advertisedRoutes.length > 0 && (
          <RoutesForm m={m} onSave={(routes) => act('Routes saved.', () => approveRoutes(m.id, routes))} />
        )}
        {canChange && (
          <section aria-labelledby="danger-title" class="card">
            <h2 id="danger-title">Key and removal</h2>
            <p>Expiring the key disconnects the machine until its owner signs in again.</p>
            <button type="button" onClick={() => void expire()}>
              Expire key
            </button>{' '}
            <button type="button" class="danger" onClick={() => void remove()}>
              Delete machine
            </button>
          </section>
        )}
      </div>
    </section>
  );
}

function Facts({ m }: { m: Machine }) {
  const now = Date.now();
  const rows: Array<[string, string]> = [
    ['Owner', m.tags.length > 0 ? `tagged ${m.tags.join(', ')}` : (m.user ?? '—')],
    ['Status', m.online ? 'online' : `offline${m.lastSeen ? `, last seen ${relativeTime(m.lastSeen, now)}` : ''}`],
    ['IPv4', m.ipv4],
    ['IPv6', m.ipv6],
    ['OS', m.os ?? '—'],
    ['Path', pathDetail(m.paths)],
    [
      'Key expiry',
      m.expiresAt
        ? `${isExpired(m, now) ? 'expired' : relativeTime(m.expiresAt, now)} (${exactTime(m.expiresAt)})`
        : 'never',
    ],
    ['Advertised routes', m.advertisedRoutes.join(', ') || '—'],
    ['Approved routes', m.approvedRoutes.join(', ') || '—'],
    [
      'Exit node',
      m.approvedRoutes.some(isExitRoute)
        ? 'yes'
        : m.advertisedRoutes.some(isExitRoute)
          ? 'offered, not approved'
          : 'no',
    ],
    ['Endpoints', m.endpoints.join(', ') || '—'],
    ['Ephemeral', m.ephemeral ? 'yes' : 'no'],
    ['Machine key', m.machineKey],
    ['WireGuard key', m.wireguardKey],
    ['Joined', exactTime(m.createdAt)],
    ['ID', m.id],
  ];
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function RenameForm({ m, onSave }: { m: Machine; onSave: (name: string) => Promise<void> }) {
  const [name, setName] = useState(m.name);
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(name.trim());
      }}
    >
      <h2>Name</h2>
      <label>
        Machine name
        <input
          value={name}
          required
          maxLength={63}
          onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Rename</button>
    </form>
  );
}

function TagsForm({ m, onSave }: { m: Machine; onSave: (tags: string[]) => Promise<void> }) {
  const [tags, setTags] = useState(m.tags.join(', '));
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void onSave(tags.split(/[\s,]+/).filter(Boolean));
      }}
    >
      <h2>Tags</h2>
      <label>
        Tags (comma-separated, tag:name; empty for none)
        <input value={tags} onInput={(e) => setTags((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <button type="submit">Save tags</button>
    </form>
  );
}

function RoutesForm({ m, onSave }: { m: Machine; onSave: (routes: string[]) => Promise<void> }) {
  const [approved, setApproved] = useState(new Set(m.approvedRoutes));
  const toggle = (r: string) => {
    const next = new Set(approved);
    if (next.has(r)) next.delete(r);
    else next.add(r);
    setApproved(next);
  };
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void onSave([...approved]);
      }}
    >
      <fieldset>
        <legend>Approved routes</legend>
        {m.advertisedRoutes.map((r) => (
          <label key={r} class="check">
            <input type="checkbox" checked={approved.has(r)} onChange={() => toggle(r)} />
            {r}
            {isExitRoute(r) && ' (exit node)'}
          </label>
        ))}
      </fieldset>
      <button type="submit">Save routes</button>
    </form>
  );
}
