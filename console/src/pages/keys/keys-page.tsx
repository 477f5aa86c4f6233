import { useState } from 'preact/hooks';
import {
  createApiKey,
  createPreAuthKey,
  listApiKeys,
  listPreAuthKeys,
  revokeApiKey,
  revokePreAuthKey,
} from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { may, type Session } from '../../api/session.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading } from '../../components/feedback.tsx';
import { exactTime, relativeTime } from '../../components/time.ts';
import { SecretOnce } from './secret-once.tsx';

const SCOPES = ['read', 'nodes', 'users', 'keys', 'policy', 'admin'];
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
const checked = (e: Event) => (e.currentTarget as HTMLInputElement).checked;

export function KeysPage({ session }: { session: Session }) {
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">Keys</h1>
      <PreAuthKeys canChange={may(session, 'keys')} />
      {may(session, 'admin') && <ApiKeys />}
    </section>
  );
}

function PreAuthKeys({ canChange }: { canChange: boolean }) {
  const keys = useResource(listPreAuthKeys);
  const [error, setError] = useState<ApiError>();
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
    setError(undefined);
    try {
      const tags = form.tags.split(/[\s,]+/).filter(Boolean);
      const issued = await createPreAuthKey({
        ...(tags.length === 0 && form.user && { user: form.user }),
        tags,
        reusable: form.reusable,
        ephemeral: form.ephemeral,
        expiresInSeconds: Math.round(form.hours * 3600),
        description: form.description,
      });
      setSecret(issued.secret);
      keys.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const revoke = async (id: string) => {
    if (!confirm(`Revoke pre-auth key ${id}? Machines can no longer join with it.`)) return;
    try {
      await revokePreAuthKey(id);
      keys.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <section aria-labelledby="preauth-title">
      <h2 id="preauth-title">Pre-auth keys</h2>
      <p class="muted">A machine joins with one instead of a person signing in: for servers, containers, CI.</p>
      <ErrorNote error={error ?? keys.error} />
      {secret && <SecretOnce secret={secret} onDone={() => setSecret('')} />}
      {canChange && (
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
          <button type="submit">Create pre-auth key</button>
        </form>
      )}
      {!keys.data && !keys.error && <Loading what="pre-auth keys" />}
      {keys.data && (
        <table class="plain">
          <caption>Pre-auth keys ({keys.data.items.length})</caption>
          <thead>
            <tr>
              <th scope="col">ID</th>
              <th scope="col">For</th>
              <th scope="col">Kind</th>
              <th scope="col">Used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => {
              const expired = Date.parse(k.expiresAt) <= Date.now();
              return (
                <tr key={k.id}>
                  <th scope="row" class="mono">
                    {k.id}
                  </th>
                  <td>{k.tags.length ? k.tags.join(', ') : (k.user ?? '—')}</td>
                  <td>
                    {[k.reusable ? 'reusable' : 'one-off', k.ephemeral && 'ephemeral'].filter(Boolean).join(', ')}
                  </td>
                  <td>{k.usedCount}</td>
                  <td title={exactTime(k.expiresAt)}>{relativeTime(k.expiresAt)}</td>
                  <td>{k.revoked ? 'revoked' : expired ? 'expired' : 'active'}</td>
                  <td>{k.description || '—'}</td>
                  <td>
                    {canChange && !k.revoked && (
                      <button type="button" onClick={() => void revoke(k.id)}>
                        Revoke {k.id}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ApiKeys() {
  const keys = useResource(listApiKeys);
  const [error, setError] = useState<ApiError>();
  const [secret, setSecret] = useState('');
  const [scopes, setScopes] = useState(new Set(['read']));
  const [description, setDescription] = useState('');
  const [days, setDays] = useState(90);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const issued = await createApiKey({
        scopes: [...scopes],
        description,
        ...(days > 0 && { expiresInSeconds: days * 86400 }),
      });
      setSecret(issued.secret);
      keys.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const revoke = async (id: string) => {
    if (!confirm(`Revoke API key ${id}? Whatever uses it stops working at once.`)) return;
    try {
      await revokeApiKey(id);
      keys.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <section aria-labelledby="apikeys-title">
      <h2 id="apikeys-title">API keys</h2>
      <p class="muted">For automation: the CLI, CI pipelines, scripts. Each holds scopes.</p>
      <ErrorNote error={error ?? keys.error} />
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
        <button type="submit" disabled={scopes.size === 0}>
          Create API key
        </button>
      </form>
      {keys.data && (
        <table class="plain">
          <caption>API keys ({keys.data.items.length})</caption>
          <thead>
            <tr>
              <th scope="col">ID</th>
              <th scope="col">Scopes</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">Description</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.items.map((k) => (
              <tr key={k.id}>
                <th scope="row" class="mono">
                  {k.id}
                </th>
                <td>{k.scopes.join(', ')}</td>
                <td title={exactTime(k.lastUsedAt)}>{relativeTime(k.lastUsedAt)}</td>
                <td title={exactTime(k.expiresAt)}>{k.expiresAt ? relativeTime(k.expiresAt) : 'never'}</td>
                <td>{k.revoked ? 'revoked' : 'active'}</td>
                <td>{k.description || '—'}</td>
                <td>
                  {!k.revoked && (
                    <button type="button" onClick={() => void revoke(k.id)}>
                      Revoke {k.id}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
