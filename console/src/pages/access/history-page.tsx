import { useState } from 'preact/hooks';
import {
  getPolicyVersion,
  listPolicyVersions,
  revertPolicy,
  type PolicyVersionView,
  type PolicyView,
} from '../../api/endpoints.ts';
import { may, type Session } from '../../api/session.ts';
import { useAction } from '../../api/use-action.ts';
import { useResource } from '../../api/use-resource.ts';
import { useConfirm } from '../../components/confirm-dialog.tsx';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { DiffView } from '../../components/diff-view.tsx';
import { ActionResult } from '../../components/feedback.tsx';
import { Loaded } from '../../components/loaded.tsx';
import { exactTime } from '../../components/time.ts';

/** Every version of the policy with its author and time; its diff from the one before; revert. */
export function HistoryPage({ session }: { session: Session }) {
  const versions = useResource(listPolicyVersions);
  const [shown, setShown] = useState<{ version: PolicyView; before?: PolicyView }>();
  const action = useAction();
  const [dialog, ask] = useConfirm();
  const latest = versions.data?.items.find((v) => v.current)?.version ?? 0;

  const show = (version: number) =>
    action.run(async () => {
      const [v, before] = await Promise.all([
        getPolicyVersion(version),
        version > 1 ? getPolicyVersion(version - 1).catch(() => undefined) : Promise.resolve(undefined),
      ]);
      setShown({ version: v, ...(before && { before }) });
    });
  const revert = async (version: number) => {
    const yes = await ask({
      title: `Revert the policy to version ${version}?`,
      body: 'Its text is applied as a new version; the history keeps every version.',
      confirm: `Revert to version ${version}`,
    });
    if (!yes) return;
    const done = await action.run(
      // Over the version this page shows as active: if another was applied since, the server refuses.
      () => revertPolicy(version, latest),
      (next) => `Reverted to version ${version}: now version ${next.version}.`,
    );
    if (done) versions.reload();
  };

  const columns: Column<PolicyVersionView>[] = [
    {
      header: 'Version',
      rowHeader: true,
      cell: (v) => `${v.version}${v.version === latest ? ' (active)' : ''}${v.starter ? ' (starter)' : ''}`,
    },
    { header: 'Author', cell: (v) => v.author },
    { header: 'Time', cell: (v) => exactTime(v.createdAt) },
    {
      header: 'Actions',
      hiddenHeader: true,
      cell: (v) => (
        <>
          <button type="button" onClick={() => void show(v.version)}>
            Show changes in version {v.version}
          </button>{' '}
          {may(session, 'policy') && v.version !== latest && (
            <button type="button" onClick={() => void revert(v.version)}>
              Revert to version {v.version}
            </button>
          )}
        </>
      ),
    },
  ];

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Version history</h2>
      <ActionResult action={action} />
      {dialog}
      <Loaded resource={versions} what="the history">
        {(data) => (
          <DataTable
            caption="Policy versions, newest first"
            rows={[...data.items].sort((a, b) => b.version - a.version)}
            columns={columns}
            rowKey={(v) => v.version}
            empty="No policy has been applied yet."
          />
        )}
      </Loaded>
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
