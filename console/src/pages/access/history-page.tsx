import { useState } from 'preact/hooks';
import { applyPolicy, getPolicy, getPolicyVersion, listPolicyVersions, type PolicyView } from '../../api/endpoints.ts';
import type { ApiError } from '../../api/http.ts';
import { may, type Session } from '../../api/session.ts';
import { useResource } from '../../api/use-resource.ts';
import { DiffView } from '../../components/diff-view.tsx';
import { ErrorNote, Loading, Notice } from '../../components/feedback.tsx';
import { exactTime } from '../../components/time.ts';

/** Every version of the policy with its author and time; its diff from the one before; revert. */
export function HistoryPage({ session }: { session: Session }) {
  const versions = useResource(listPolicyVersions);
  const [shown, setShown] = useState<{ version: PolicyView; before?: PolicyView }>();
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState('');
  const latest = versions.data?.items.reduce((m, v) => Math.max(m, v.version), 0) ?? 0;

  const show = async (version: number) => {
    setError(undefined);
    try {
      const [v, before] = await Promise.all([
        getPolicyVersion(version),
        version > 1 ? getPolicyVersion(version - 1).catch(() => undefined) : Promise.resolve(undefined),
      ]);
      setShown({ version: v, ...(before && { before }) });
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const revert = async (version: number) => {
    if (!confirm(`Revert the policy to version ${version}? It is applied as a new version.`)) return;
    setError(undefined);
    try {
      const old = await getPolicyVersion(version);
      const now = await getPolicy();
      const next = await applyPolicy(old.text, now.version);
      setDone(`Reverted to version ${version}: now version ${next.version}.`);
      versions.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Version history</h2>
      <ErrorNote error={versions.error} title="Could not load the history" />
      <ErrorNote error={error} />
      {done && <Notice>{done}</Notice>}
      {!versions.data && !versions.error && <Loading what="the history" />}
      {versions.data && (
        <table class="plain">
          <caption>Policy versions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Author</th>
              <th scope="col">Time</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...versions.data.items]
              .sort((a, b) => b.version - a.version)
              .map((v) => (
                <tr key={v.version}>
                  <th scope="row">
                    {v.version}
                    {v.version === latest && ' (active)'}
                    {v.starter && ' (starter)'}
                  </th>
                  <td>{v.author}</td>
                  <td>{exactTime(v.createdAt)}</td>
                  <td>
                    <button type="button" onClick={() => void show(v.version)}>
                      Show changes in version {v.version}
                    </button>{' '}
                    {may(session, 'policy') && v.version !== latest && (
                      <button type="button" onClick={() => void revert(v.version)}>
                        Revert to version {v.version}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
      {shown && (
        <section aria-labelledby="version-diff-title">
          <h3 id="version-diff-title">
            Version {shown.version.version} by {shown.version.author}, {exactTime(shown.version.createdAt)}
          </h3>
          <DiffView
            label={`Changes in version ${shown.version.version}`}
            before={shown.before?.text ?? ''}
            after={shown.version.text}
          />
        </section>
      )}
    </section>
  );
}
