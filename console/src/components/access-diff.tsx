import type { AccessChange, PolicyDiff } from '../api/endpoints.ts';
import { DataTable, type Column } from './data-table.tsx';

const COLUMNS: Column<AccessChange>[] = [
  { header: 'From', cell: (c) => c.src },
  { header: 'To', cell: (c) => c.dst },
  { header: 'Ports', cell: (c) => c.ports },
  { header: 'Protocols', cell: (c) => c.protos },
];

/** Who gains and who loses what: the access a policy change grants and revokes. */
export function AccessDiffView({ diff }: { diff: PolicyDiff }) {
  if (diff.granted.length === 0 && diff.revoked.length === 0)
    return <p role="status">This change grants and revokes no access between the machines there are now.</p>;
  return (
    <div>
      {diff.granted.length > 0 && (
        <ChangeTable caption={`Gains (${diff.granted.length})`} rows={diff.granted} kind="added" />
      )}
      {diff.revoked.length > 0 && (
        <ChangeTable caption={`Losses (${diff.revoked.length})`} rows={diff.revoked} kind="removed" />
      )}
    </div>
  );
}

function ChangeTable({ caption, rows, kind }: { caption: string; rows: AccessChange[]; kind: string }) {
  return <DataTable caption={caption} rows={rows} columns={COLUMNS} rowKey={rowKey} empty="None." class={kind} />;
}

const rowKey = (c: AccessChange) => `${c.src} ${c.dst} ${c.ports} ${c.protos}`;
