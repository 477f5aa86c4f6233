import type { Session } from '../../api/session.ts';
import { Link } from '../../router.tsx';
import { ExplainPage } from './explain-page.tsx';
import { HistoryPage } from './history-page.tsx';
import { PolicyEditor } from './policy-editor.tsx';
import { PreviewPage } from './preview-page.tsx';

const TABS = [
  ['', 'Policy'],
  ['/preview', 'Preview'],
  ['/explain', 'Explain'],
  ['/history', 'History'],
] as const;

/** Access controls: the policy, what it grants (preview, explain) and how it came to be (history). */
export function AccessPage({ sub, query, session }: { sub: string; query: URLSearchParams; session: Session }) {
  return (
    <section aria-labelledby="access-title">
      <h1 id="access-title">Access controls</h1>
      <nav aria-label="Access controls" class="tabs">
        {TABS.map(([path, label]) => (
          <Link key={path} href={`/access${path}`} current={sub === path}>
            {label}
          </Link>
        ))}
      </nav>
      {sub === '' && <PolicyEditor session={session} />}
      {sub === '/preview' && <PreviewPage initial={query.get('src') ?? ''} />}
      {sub === '/explain' && (
        <ExplainPage
          initial={{ src: query.get('src') ?? '', dst: query.get('dst') ?? '', port: query.get('port') ?? '22' }}
        />
      )}
      {sub === '/history' && <HistoryPage session={session} />}
    </section>
  );
}
