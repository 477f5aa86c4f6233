import type { ComponentChildren } from 'preact';

/** One column of a table: its header and how a row fills its cell. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
  /** This cell names the row (a `<th scope="row">`), so a screen reader announces it with every cell. */
  rowHeader?: boolean;
  /** The header is read by screen readers but not drawn (a column of buttons needs no visible title). */
  hiddenHeader?: boolean;
  class?: string;
}

interface Props<T> {
  caption: ComponentChildren;
  rows: readonly T[];
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  /** What an empty list says, in a row of its own so the table keeps its caption and headers. */
  empty: ComponentChildren;
  class?: string;
}

/** The console's table of a list: captioned, with header cells, and an empty state. */
export function DataTable<T>(p: Props<T>) {
  return (
    <table class={p.class ? `plain ${p.class}` : 'plain'}>
      <caption>{p.caption}</caption>
      <thead>
        <tr>
          {p.columns.map((c) => (
            <th key={c.header} scope="col">
              {c.hiddenHeader ? <span class="visually-hidden">{c.header}</span> : c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.length === 0 && (
          <tr>
            <td colSpan={p.columns.length} class="muted">
              {p.empty}
            </td>
          </tr>
        )}
        {p.rows.map((row) => (
          <tr key={p.rowKey(row)}>
            {p.columns.map((c) =>
              c.rowHeader ? (
                <th key={c.header} scope="row" class={c.class}>
                  {c.cell(row)}
                </th>
              ) : (
                <td key={c.header} class={c.class}>
                  {c.cell(row)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
