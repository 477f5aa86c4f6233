import { useState } from 'preact/hooks';
import { listAudit, type AuditEvent, type AuditFilter } from '../../api/endpoints.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { ErrorNote } from '../../components/feedback.tsx';
import { Loaded } from '../../components/loaded.tsx';
import { exactTime } from '../../components/time.ts';
import { Link } from '../../router.tsx';
import { value } from '../../components/form-value.ts';

const KINDS = ['', 'auth', 'login', 'node.register', 'node.expire', 'admin', 'policy'];
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
  const loadingMore = useAction();
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
  const more = () =>
    loadingMore.run(async () => {
      const next = await listAudit({ ...filter, cursor });
      setOlder([...older, ...next.items]);
      setCursor(next.nextCursor);
    });

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
      <Loaded resource={page} what="the audit log">
        {() => (
          <DataTable
            class="audit"
            caption={`${events.length} event${events.length === 1 ? '' : 's'}, newest first`}
            rows={events}
            columns={COLUMNS}
            rowKey={(e) => e.id}
            empty="No event matches this filter."
          />
        )}
      </Loaded>
      <ErrorNote error={loadingMore.error} title="Could not load older events" />
      {cursor && (
        <button type="button" disabled={loadingMore.busy} onClick={() => void more()}>
          Load older events
        </button>
      )}
    </section>
  );
}

const COLUMNS: Column<AuditEvent>[] = [
  { header: 'Time', cell: (e) => exactTime(e.at) },
  { header: 'Actor', cell: (e) => e.actor ?? '—' },
  { header: 'Kind', cell: (e) => e.kind },
  { header: 'Outcome', cell: (e) => <span class={e.outcome === 'failure' ? 'status expired' : ''}>{e.outcome}</span> },
  {
    header: 'What',
    cell: (e) => (
      <>
        {e.code && <code>{e.code}</code>} {e.message}
        {isPolicyChange(e) && (
          <>
            {' '}
            <Link href="/access/history">see the change in the policy history</Link>
          </>
        )}
      </>
    ),
  },
  {
    header: 'Node',
    cell: (e) => (e.nodeId ? <Link href={`/machines/${encodeURIComponent(e.nodeId)}`}>{e.nodeId}</Link> : '—'),
  },
  { header: 'Source', cell: (e) => e.source ?? '—' },
];

const isPolicyChange = (e: AuditEvent) =>
  e.outcome === 'success' && /policy/.test(`${e.kind} ${e.code ?? ''}`) && !/check|GET/.test(e.code ?? '');
