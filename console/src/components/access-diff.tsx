import type { AccessChange, AccessDiff } from '../api/endpoints.ts';

/** Who gains and who loses what: the access a policy change grants and revokes. */
export function AccessDiffView({ diff }: { diff: AccessDiff }) {
  if (diff.granted.length === 0 && diff.revoked.length === 0)
    return <p role="status">This change grants and revokes no access between the machines there are now.</p>;
  return (
    <div>
      <ChangeTable caption={`Gains (${diff.granted.length})`} rows={diff.granted} kind="added" />
      <ChangeTable caption={`Losses (${diff.revoked.length})`} rows={diff.revoked} kind="removed" />
    </div>
  );
}

function ChangeTable({ caption, rows, kind }: { caption: string; rows: AccessChange[]; kind: string }) {
  if (rows.length === 0) return null;
  return (
    <table class={`plain ${kind}`}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">From</th>
          <th scope="col">To</th>
          <th scope="col">Ports</th>
          <th scope="col">Protocols</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((c, i) => (
          <tr key={i}>
            <td>{c.src}</td>
            <td>{c.dst}</td>
            <td>{c.ports}</td>
            <td>{c.protos}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
