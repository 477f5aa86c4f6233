import { useState } from 'preact/hooks';
import { listAudit, type AuditEvent, type AuditFilter } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { useResource } from '../../api/use-resource.ts';
import { ErrorNote, Loading } from '../../components/feedback.tsx';
import { exactTime } from '../../components/time.ts';
import { Link } from '../../router.tsx';

const KINDS = ['', 'auth', 'login', 'node.register', 'node.expire', 'admin', 'policy'];
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
/** datetime-local (local time, no zone) to the ISO instant the API takes. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function AuditPage() {
  const [draft, setDraft] = useState({
    actor: '',
    action: '',
    nodeId: '',
    kind: '',
    outcome: '',
    since: '',
    until: '',
  });
  const [filter, setFilter] = useState<AuditFilter>({});
  const [older, setOlder] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [moreError, setMoreError] = useState<ApiError>();
  const page = useResource(() => {
    setOlder([]);
    return listAudit(filter).then((p) => (setCursor(p.nextCursor), p));
  }, [JSON.stringify(filter)]);
  const events = [...(page.data?.items ?? []), ...older];

  const apply = (e: Event) => {
    e.preventDefault();
    setFilter({
      actor: draft.actor || undefined,
      action: draft.action || undefined,
      nodeId: draft.nodeId || undefined,
      kind: draft.kind || undefined,
      outcome: draft.outcome || undefined,
      since: toIso(draft.since),
      until: toIso(draft.until),
    });
  };
  const more = async () => {
    try {
      const next = await listAudit({ ...filter, cursor });
      setOlder([...older, ...next.items]);
      setCursor(next.nextCursor);
    } catch (err) {
      setMoreError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form class="card inline" onSubmit={apply} aria-label="Filter the audit log">
        <label>
          Actor
          <input
            value={draft.actor}
            placeholder="email or api-key:ID"
            onInput={(e) => setDraft({ ...draft, actor: value(e) })}
          />
        </label>
        <label>
          Action
          <input
            value={draft.action}
            placeholder="e.g. PUT /api/v1/policy"
            onInput={(e) => setDraft({ ...draft, action: value(e) })}
          />
        </label>
        <label>
          Node ID
          <input value={draft.nodeId} onInput={(e) => setDraft({ ...draft, nodeId: value(e) })} />
        </label>
        <label>
          Kind
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: value(e) })}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: value(e) })}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={draft.since} onInput={(e) => setDraft({ ...draft, since: value(e) })} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={draft.until} onInput={(e) => setDraft({ ...draft, until: value(e) })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={page.error} title="Could not load the audit log" />
      {page.loading && !page.data && <Loading what="the audit log" />}
      {page.data && (
        <table class="plain audit">
          <caption>
            {events.length} event{events.length === 1 ? '' : 's'}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Kind</th>
              <th scope="col">Outcome</th>
              <th scope="col">What</th>
              <th scope="col">Node</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id}>
                <td>{exactTime(e.at)}</td>
                <td>{e.actor ?? '—'}</td>
                <td>{e.kind}</td>
                <td class={e.outcome === 'failure' ? 'status expired' : ''}>{e.outcome}</td>
                <td>
                  {e.code && <code>{e.code}</code>} {e.message}
                  {isPolicyChange(e) && (
                    <>
                      {' '}
                      <Link href="/access/history">see the change in the policy history</Link>
                    </>
                  )}
                </td>
                <td>{e.nodeId ? <Link href={`/machines/${encodeURIComponent(e.nodeId)}`}>{e.nodeId}</Link> : '—'}</td>
                <td>{e.source ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={moreError} />
      {cursor && (
        <button type="button" onClick={() => void more()}>
          Load older events
        </button>
      )}
    </section>
  );
}

const isPolicyChange = (e: AuditEvent) =>
  e.outcome === 'success' && /policy/.test(`${e.kind} ${e.code ?? ''}`) && !/check|GET/.test(e.code ?? '');
