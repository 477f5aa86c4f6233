import { useState } from 'preact/hooks';
import { previewAccess, type PolicyPreview, type ReachEntry } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { ErrorNote } from '../../components/feedback.tsx';
import { SourceSuggestions } from './sources.tsx';

/** Pick a source (user, group, tag or machine) and see everything it can reach, and the rule behind each. */
export function PreviewPage({ initial }: { initial: string }) {
  const [src, setSrc] = useState(initial);
  const [result, setResult] = useState<NonNullable<PolicyPreview['reach']>>();
  const [error, setError] = useState<ApiError>();
  const run = async (e?: Event) => {
    e?.preventDefault();
    setError(undefined);
    try {
      setResult((await previewAccess(src.trim())).reach);
    } catch (err) {
      setResult(undefined);
      setError(err as ApiError);
    }
  };
  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">Preview: what can a source reach?</h2>
      <form class="card inline" onSubmit={(e) => void run(e)} aria-label="Preview access">
        <label>
          Source: a machine, user, group (group:, idp:) or tag
          <input
            required
            list="preview-sources"
            value={src}
            onInput={(e) => setSrc((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <SourceSuggestions id="preview-sources" />
        <button type="submit">Preview</button>
      </form>
      <ErrorNote error={error} />
      {result && (
        <div aria-live="polite">
          <DataTable
            caption={`${result.src} can reach ${result.entries.length} destination${result.entries.length === 1 ? '' : 's'}`}
            rows={result.entries}
            columns={COLUMNS}
            rowKey={(r) => `${r.dst.id} ${r.ports} ${r.protos}`}
            empty={`Nothing: no rule lets ${result.src} reach any machine.`}
          />
        </div>
      )}
    </section>
  );
}

const COLUMNS: Column<ReachEntry>[] = [
  { header: 'Destination', rowHeader: true, cell: (r) => r.dst.name },
  { header: 'Ports', cell: (r) => r.ports },
  { header: 'Protocols', cell: (r) => r.protos },
  {
    header: 'Granted by',
    cell: (r) =>
      r.rules.map((rule) => (
        <div key={rule.at}>
          <code>{rule.at}</code> {rule.summary}
        </div>
      )),
  },
];
