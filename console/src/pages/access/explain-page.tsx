import { Link } from '../../router.tsx';
import { useState } from 'preact/hooks';
import { explainAccess, type Explanation } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { ErrorNote } from '../../components/feedback.tsx';
import { SourceSuggestions } from './sources.tsx';
import { value } from '../../components/form-value.ts';

/** "Can A reach B:port?": yes or no, and why: the rule that allows it, or why each near rule does not. */
export function ExplainPage({ initial }: { initial: { src: string; dst: string; port: string } }) {
  const [q, setQ] = useState({ ...initial, proto: 'tcp' });
  const [asked, setAsked] = useState('');
  const [answer, setAnswer] = useState<Explanation>();
  const [error, setError] = useState<ApiError>();
  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      setAnswer(await explainAccess({ src: q.src.trim(), dst: q.dst.trim(), port: Number(q.port), proto: q.proto }));
      setAsked(`${q.src.trim()} → ${q.dst.trim()}:${q.port}/${q.proto}`);
    } catch (err) {
      setAnswer(undefined);
      setError(err as ApiError);
    }
  };
  return (
    <section aria-labelledby="explain-title">
      <h2 id="explain-title">Explain: can A reach B?</h2>
      <form class="card inline" onSubmit={(e) => void run(e)} aria-label="Explain access">
        <label>
          From machine
          <input required list="explain-machines" value={q.src} onInput={(e) => setQ({ ...q, src: value(e) })} />
        </label>
        <label>
          To machine or address
          <input required list="explain-machines" value={q.dst} onInput={(e) => setQ({ ...q, dst: value(e) })} />
        </label>
        <label>
          Port
          <input
            required
            type="number"
            min={0}
            max={65535}
            value={q.port}
            onInput={(e) => setQ({ ...q, port: value(e) })}
          />
        </label>
        <label>
          Protocol
          <select value={q.proto} onChange={(e) => setQ({ ...q, proto: value(e) })}>
            {['tcp', 'udp', 'icmp', 'sctp'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <SourceSuggestions id="explain-machines" machinesOnly />
        <button type="submit">Explain</button>
      </form>
      <ErrorNote error={error} />
      {answer && (
        <div class={`verdict ${answer.verdict}`} role="status">
          <p class="answer">
            <strong>{answer.verdict === 'accept' ? 'Yes' : 'No'}</strong>: {asked}{' '}
            {answer.verdict === 'accept' ? 'is allowed' : 'is denied'}
          </p>
          {answer.via && (
            <p class="via">
              carried by {answer.via.kind === 'exit' ? 'exit node' : 'subnet router'}{' '}
              <Link href={`/machines/${encodeURIComponent(answer.via.router.id)}`}>{answer.via.router.name}</Link> (
              <code>{answer.via.prefix}</code>)
            </p>
          )}
          {answer.allowedBy.length > 0 && (
            <ul>
              {answer.allowedBy.map((r) => (
                <li key={r.at}>
                  allowed by <code>{r.at}</code>: {r.summary}
                </li>
              ))}
            </ul>
          )}
          {answer.reasons.length > 0 && (
            <ul>
              {answer.reasons.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
