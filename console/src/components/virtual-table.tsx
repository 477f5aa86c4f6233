import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  header: string;
  /** A CSS width for the fixed table layout (`12rem`, `10%`). */
  width: string;
  cell: (row: T) => ComponentChildren;
}

interface Props<T> {
  label: string;
  rows: readonly T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  /** Every row has this height (px, as the stylesheet draws it), so a row's position is its index times it. */
  rowHeight: number;
  empty: ComponentChildren;
}

const OVERSCAN = 8;

/**
 * A table that renders only the rows in view (plus a few either side), so 10,000 machines cost
 * what 40 do. It stays a real <table>: screen readers get the full row count (aria-rowcount)
 * and each row's place in it (aria-rowindex); the spacer rows above and below are hidden.
 */
export function VirtualTable<T>(p: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current!;
    setViewport(el.clientHeight);
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new filter shows its first rows.
  useEffect(() => {
    const el = scroller.current;
    if (el && el.scrollTop > p.rows.length * p.rowHeight) el.scrollTop = 0;
  }, [p.rows, p.rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / p.rowHeight) - OVERSCAN);
  const last = Math.min(p.rows.length, Math.ceil((scrollTop + viewport) / p.rowHeight) + OVERSCAN);
  const top = first * p.rowHeight;
  const bottom = (p.rows.length - last) * p.rowHeight;

  return (
    <div
      class="vscroll"
      ref={scroller}
      tabIndex={0}
      role="region"
      aria-label={p.label}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <table class="grid" aria-rowcount={p.rows.length + 1}>
        <colgroup>
          {p.columns.map((c) => (
            <col key={c.header} style={{ width: c.width }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {p.columns.map((c) => (
              <th key={c.header} scope="col">
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {top > 0 && <tr aria-hidden="true" class="spacer" style={{ height: `${top}px` }} />}
          {p.rows.slice(first, last).map((row, i) => (
            <tr key={p.rowKey(row)} aria-rowindex={first + i + 2} style={{ height: `${p.rowHeight}px` }}>
              {p.columns.map((c) => (
                <td key={c.header}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
          {bottom > 0 && <tr aria-hidden="true" class="spacer" style={{ height: `${bottom}px` }} />}
        </tbody>
      </table>
      {p.rows.length === 0 && <div class="empty">{p.empty}</div>}
    </div>
  );
}
