import { useEffect, useRef, useState } from 'preact/hooks';
import {
  applyPolicy,
  checkPolicy,
  diffPolicy,
  getPolicy,
  type PolicyDiff,
  type PolicyTestsView,
} from '../../api/endpoints.ts';
import { ApiError } from '../../api/http.ts';
import { useLive } from '../../api/live.ts';
import { may, type Session } from '../../api/session.ts';
import { useResource } from '../../api/use-resource.ts';
import { AccessDiffView } from '../../components/access-diff.tsx';
import { ErrorNote, Loading, Notice } from '../../components/feedback.tsx';
import { exactTime } from '../../components/time.ts';
import { diagnosticsOf, offsetOf, type Diagnostic } from './diagnostics.ts';

type Check =
  { state: 'idle' | 'checking' } | { state: 'ok'; tests?: PolicyTestsView } | { state: 'problems'; list: Diagnostic[] };

/**
 * The policy in an editor: the server checks it as it is typed (its diagnostics at their line
 * and column, its embedded tests' results), shows who gains and loses what before it is applied,
 * and applies it only over the version it was loaded from.
 */
export function PolicyEditor({ session }: { session: Session }) {
  const policy = useResource(getPolicy);
  const [text, setText] = useState<string>();
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const [diff, setDiff] = useState<PolicyDiff>();
  const [error, setError] = useState<ApiError>();
  const [applied, setApplied] = useState('');
  const [newer, setNewer] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const canApply = may(session, 'policy');
  const base = policy.data;
  const current = text ?? base?.text ?? '';
  const edited = base !== undefined && current !== base.text;
  useLive(['policy'], () => setNewer(true));

  useEffect(() => {
    if (!base) return;
    setCheck({ state: 'checking' });
    const timer = setTimeout(() => {
      checkPolicy(current).then(
        (r) => setCheck({ state: 'ok', ...(r.tests && { tests: r.tests }) }),
        (err: unknown) => {
          const list = diagnosticsOf(err);
          if (list.length > 0) setCheck({ state: 'problems', list });
          else {
            setCheck({ state: 'idle' });
            setError(err as ApiError);
          }
        },
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [current, base]);

  if (policy.error) return <ErrorNote error={policy.error} title="Could not load the policy" />;
  if (!base) return <Loading what="the policy" />;

  const lines = current.split('\n').length;
  const problemLines = new Set(check.state === 'problems' ? check.list.map((d) => d.line) : []);
  const goTo = (d: { line?: number; column?: number }) => {
    const el = area.current!;
    const at = offsetOf(current, d.line ?? 1, d.column ?? 1);
    el.focus();
    el.setSelectionRange(at, at + 1);
  };
  const review = async () => {
    setError(undefined);
    try {
      setDiff(await diffPolicy(current, base.version));
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const apply = async () => {
    setError(undefined);
    try {
      // Over the version the edit started from, never a newer one someone else applied meanwhile.
      const next = await applyPolicy(current, base.version);
      setApplied(`Applied as version ${next.version}.`);
      setDiff(undefined);
      setText(undefined);
      policy.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="editor-title">
      <h2 id="editor-title">Policy</h2>
      <p class="muted">
        Version {base.version}, by {base.author}, {exactTime(base.createdAt)}
        {edited && ' (edited, not applied)'}
      </p>
      {base.warning && <p class="note warn">{base.warning}</p>}
      {newer && (
        <p class="note warn" role="status">
          The policy changed on the server since this page loaded.{' '}
          <button type="button" onClick={() => (setNewer(false), policy.reload())}>
            Load the new version
          </button>
        </p>
      )}
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} class={problemLines.has(i + 1) ? 'problem' : undefined}>
              {i + 1}
            </div>
          ))}
        </div>
        <label class="visually-hidden" for="policy-text">
          Policy (HuJSON)
        </label>
        <textarea
          id="policy-text"
          ref={area}
          value={current}
          spellcheck={false}
          readOnly={!canApply}
          aria-invalid={check.state === 'problems'}
          aria-describedby="policy-check"
          onInput={(e) => {
            setText((e.currentTarget as HTMLTextAreaElement).value);
            setDiff(undefined);
            setApplied('');
          }}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.currentTarget as HTMLTextAreaElement).scrollTop;
          }}
        />
      </div>
      <div id="policy-check" aria-live="polite">
        {check.state === 'checking' && <p class="muted">Checking…</p>}
        {check.state === 'ok' && (
          <p class="note ok">
            The policy is valid
            {check.tests ? `; its tests: ${check.tests.passed} passed, ${check.tests.failed} failed.` : '.'}
          </p>
        )}
        {check.state === 'ok' && check.tests && check.tests.results.length > 0 && (
          <ul class="tests" aria-label="The policy's tests">
            {check.tests.results.map((t) => (
              <li key={t.at} class={t.passed ? 'passed' : 'failed'}>
                <button type="button" class="link" onClick={() => goTo(t)}>
                  Line {t.line}
                </button>
                : {t.passed ? 'passes' : 'FAILS'}: {t.src} {t.expect === 'accept' ? 'reaches' : 'does not reach'}{' '}
                {t.dst}
                {t.message && <span class="muted"> ({t.message})</span>}
              </li>
            ))}
          </ul>
        )}
        {check.state === 'problems' && (
          <div class="note error">
            <p>
              {check.list.length} problem{check.list.length === 1 ? '' : 's'}:
            </p>
            <ul class="diagnostics">
              {check.list.map((d, i) => (
                <li key={i}>
                  <button type="button" class="link" onClick={() => goTo(d)}>
                    {d.line !== undefined ? `Line ${d.line}, column ${d.column}` : 'Policy'}
                  </button>
                  : {d.message} <code>{d.code}</code>
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      <ErrorNote error={error} />
      {error?.code === 'policy.version_conflict' && (
        <p class="note warn">
          Someone applied another version since you loaded this one. Your text is kept: reload the policy to see theirs.{' '}
          <button type="button" onClick={() => policy.reload()}>
            Reload the policy
          </button>
        </p>
      )}
      {applied && <Notice>{applied}</Notice>}
      {canApply ? (
        <div class="buttons">
          <button type="button" disabled={!edited || check.state !== 'ok'} onClick={() => void review()}>
            Review access changes
          </button>{' '}
          <button
            type="button"
            class="primary"
            disabled={!edited || check.state !== 'ok' || !diff}
            onClick={() => void apply()}
          >
            Apply version {base.version + 1}
          </button>{' '}
          <button type="button" disabled={!edited} onClick={() => (setText(undefined), setDiff(undefined))}>
            Discard edits
          </button>
        </div>
      ) : (
        <p class="muted">Your role can read and check the policy but not apply it.</p>
      )}
      {diff && (
        <section aria-labelledby="diff-title">
          <h3 id="diff-title">Access changes if applied</h3>
          <AccessDiffView diff={diff} />
        </section>
      )}
    </section>
  );
}
