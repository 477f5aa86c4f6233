import { useState } from 'preact/hooks';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyView } from '../../api/endpoints.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import type { Column } from '../../components/data-table.tsx';
import { ErrorNote } from '../../components/feedback.tsx';
import { checked, value } from '../../components/form-value.ts';
import { exactTime, relativeTime } from '../../components/time.ts';
import { KeyList } from './key-list.tsx';
import { SecretOnce } from './secret-once.tsx';

const SCOPES = ['read', 'nodes', 'users', 'keys', 'policy', 'admin'];

const COLUMNS: Column<ApiKeyView>[] = [
  { header: 'Scopes', cell: (k) => k.scopes.join(', ') },
  { header: 'Last used', cell: (k) => <span title={exactTime(k.lastUsedAt)}>{relativeTime(k.lastUsedAt)}</span> },
  {
    header: 'Expires',
    cell: (k) => <span title={exactTime(k.expiresAt)}>{k.expiresAt ? relativeTime(k.expiresAt) : 'never'}</span>,
  },
  { header: 'State', cell: (k) => (k.revoked ? 'revoked' : 'active') },
  { header: 'Description', cell: (k) => k.description || '—' },
];

/** API keys, for automation (the CLI, CI, scripts); only an admin sees and makes them. */
export function ApiKeys() {
  const keys = useResource(listApiKeys);
  const creating = useAction();
  const [secret, setSecret] = useState('');
  const [scopes, setScopes] = useState(new Set(['read']));
  const [description, setDescription] = useState('');
  const [days, setDays] = useState(90);
  const create = async (e: Event) => {
    e.preventDefault();
    const made = await creating.run(async () => {
      const issued = await createApiKey({
        scopes: [...scopes],
        description,
        ...(days > 0 && { expiresInSeconds: days * 86400 }),
      });
      setSecret(issued.secret);
    });
    if (made) keys.reload();
  };
  return (
    <section aria-labelledby="apikeys-title">
      <h2 id="apikeys-title">API keys</h2>
      <p class="muted">For automation: the CLI, CI pipelines, scripts. Each holds scopes.</p>
      <ErrorNote error={creating.error} title="Could not create the key" />
      {secret && <SecretOnce secret={secret} onDone={() => setSecret('')} />}
      <form class="card inline" onSubmit={(e) => void create(e)} aria-label="Create an API key">
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label class="check" key={s}>
              <input
                type="checkbox"
                checked={scopes.has(s)}
                onChange={(e) => {
                  const next = new Set(scopes);
                  if (checked(e)) next.add(s);
                  else next.delete(s);
                  setScopes(next);
                }}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Valid for (days, 0 for ever)
          <input type="number" min={0} max={3650} value={days} onInput={(e) => setDays(Number(value(e)))} />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription(value(e))} />
        </label>
        <button type="submit" disabled={scopes.size === 0 || creating.busy}>
          Create API key
        </button>
      </form>
      <KeyList
        kind="API key"
        keys={keys}
        columns={COLUMNS}
        canRevoke
        revoke={revokeApiKey}
        consequence="Whatever uses it (the CLI, a pipeline, a script) stops working at once."
      />
    </section>
  );
}
