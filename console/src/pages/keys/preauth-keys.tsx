import { useState } from 'preact/hooks';
import { createPreAuthKey, listPreAuthKeys, revokePreAuthKey, type PreAuthKeyView } from '../../api/endpoints.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import type { Column } from '../../components/data-table.tsx';
import { ErrorNote, ReadOnlyHint } from '../../components/feedback.tsx';
import { exactTime, relativeTime } from '../../components/time.ts';
import { checked, value } from '../../components/form-value.ts';
import { KeyList } from './key-list.tsx';
import { SecretOnce } from './secret-once.tsx';

const COLUMNS: Column<PreAuthKeyView>[] = [
  { header: 'For', cell: (k) => (k.tags.length ? k.tags.join(', ') : (k.user ?? '—')) },
  {
    header: 'Kind',
    cell: (k) => [k.reusable ? 'reusable' : 'one-off', k.ephemeral && 'ephemeral'].filter(Boolean).join(', '),
  },
  { header: 'Used', cell: (k) => k.usedCount },
  { header: 'Expires', cell: (k) => <span title={exactTime(k.expiresAt)}>{relativeTime(k.expiresAt)}</span> },
  {
    header: 'State',
    cell: (k) => (k.revoked ? 'revoked' : Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active'),
  },
  { header: 'Description', cell: (k) => k.description || '—' },
];

/** Pre-auth keys: a machine joins with one instead of a person signing in. */
export function PreAuthKeys({ canChange }: { canChange: boolean }) {
  const keys = useResource(listPreAuthKeys);
  const creating = useAction();
  const [secret, setSecret] = useState('');
  const [form, setForm] = useState({
    user: '',
    tags: '',
    reusable: false,
    ephemeral: false,
    hours: 24,
    description: '',
  });
  const create = async (e: Event) => {
    e.preventDefault();
    const tags = form.tags.split(/[\s,]+/).filter(Boolean);
    const made = await creating.run(async () => {
      const issued = await createPreAuthKey({
        ...(tags.length === 0 && form.user && { user: form.user }),
        tags,
        reusable: form.reusable,
        ephemeral: form.ephemeral,
        expiresInSeconds: Math.round(form.hours * 3600),
        description: form.description,
      });
      setSecret(issued.secret);
    });
    if (made) keys.reload();
  };
  return (
    <section aria-labelledby="preauth-title">
      <h2 id="preauth-title">Pre-auth keys</h2>
      <p class="muted">A machine joins with one instead of a person signing in: for servers, containers, CI.</p>
      <ErrorNote error={creating.error} title="Could not create the key" />
      {secret && <SecretOnce secret={secret} onDone={() => setSecret('')} />}
      {canChange ? (
        <form class="card inline" onSubmit={(e) => void create(e)} aria-label="Create a pre-auth key">
          <label>
            User (email)
            <input type="email" value={form.user} onInput={(e) => setForm({ ...form, user: value(e) })} />
          </label>
          <label>
            or tags
            <input value={form.tags} placeholder="tag:server" onInput={(e) => setForm({ ...form, tags: value(e) })} />
          </label>
          <label>
            Valid for (hours)
            <input
              type="number"
              min={1}
              max={8760}
              value={form.hours}
              onInput={(e) => setForm({ ...form, hours: Number(value(e)) })}
            />
          </label>
          <label>
            Description
            <input value={form.description} onInput={(e) => setForm({ ...form, description: value(e) })} />
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={form.reusable}
              onChange={(e) => setForm({ ...form, reusable: checked(e) })}
            />
            Reusable
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={form.ephemeral}
              onChange={(e) => setForm({ ...form, ephemeral: checked(e) })}
            />
            Ephemeral machines
          </label>
          <button type="submit" disabled={creating.busy}>
            Create pre-auth key
          </button>
        </form>
      ) : (
        <ReadOnlyHint what="pre-auth keys" />
      )}
      <KeyList
        kind="pre-auth key"
        keys={keys}
        columns={COLUMNS}
        canRevoke={canChange}
        revoke={revokePreAuthKey}
        consequence="Machines can no longer join with it; those that joined with it stay."
      />
    </section>
  );
}
