import { useAction } from '../../api/use-action.ts';
import type { Resource } from '../../api/use-resource.ts';
import { useConfirm } from '../../components/confirm-dialog.tsx';
import { DataTable, type Column } from '../../components/data-table.tsx';
import { ActionResult } from '../../components/feedback.tsx';
import { Loaded } from '../../components/loaded.tsx';

interface Key {
  id: string;
  revoked: boolean;
}

/**
 * A list of keys of one kind (pre-auth or API): the table, and revoking a key after asking,
 * what revoking it breaks said in `consequence`.
 */
export function KeyList<K extends Key>(p: {
  kind: string;
  keys: Resource<{ items: K[] }>;
  columns: Column<K>[];
  canRevoke: boolean;
  revoke: (id: string) => Promise<void>;
  consequence: string;
}) {
  const action = useAction();
  const [dialog, ask] = useConfirm();
  const revoke = async (id: string) => {
    const yes = await ask({ title: `Revoke ${p.kind} ${id}?`, body: p.consequence, confirm: 'Revoke', danger: true });
    if (yes && (await action.run(() => p.revoke(id), `Revoked ${p.kind} ${id}.`))) p.keys.reload();
  };
  const columns: Column<K>[] = [
    { header: 'ID', rowHeader: true, class: 'mono', cell: (k) => k.id },
    ...p.columns,
    {
      header: 'Actions',
      hiddenHeader: true,
      cell: (k) =>
        p.canRevoke &&
        !k.revoked && (
          <button type="button" onClick={() => void revoke(k.id)}>
            Revoke {k.id}
          </button>
        ),
    },
  ];
  return (
    <>
      <ActionResult action={action} />
      {dialog}
      <Loaded resource={p.keys} what={`${p.kind}s`}>
        {(data) => (
          <DataTable
            caption={`${p.kind[0]!.toUpperCase()}${p.kind.slice(1)}s (${data.items.length})`}
            rows={data.items}
            columns={columns}
            rowKey={(k) => k.id}
            empty={`No ${p.kind}s yet.`}
          />
        )}
      </Loaded>
    </>
  );
}
