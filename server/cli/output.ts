/** Prints rows as an aligned table, or as JSON with --json. */
export function printList<T>(
  items: T[],
  json: boolean | undefined,
  columns: Array<[string, (item: T) => string]>,
  out: (s: string) => void,
): void {
  if (json) {
    out(JSON.stringify(items, null, 2));
    return;
  }
  if (items.length === 0) {
    out('(none)');
    return;
  }
  const rows = [columns.map(([h]) => h), ...items.map((it) => columns.map(([, f]) => f(it)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    out(
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function printObject(value: unknown, out: (s: string) => void): void {
  out(JSON.stringify(value, null, 2));
}
