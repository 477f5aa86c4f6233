import type { PathSummary } from '../../../../protocol/path-report.ts';

/**
 * A node's path summary in a list cell: `direct` or `relay` when all its connected peers agree,
 * the counts when they do not, `none` before any handshake; absent (offline, an older agent): —.
 */
export function pathCell(p: PathSummary | undefined): string {
  if (!p) return '—';
  if (p.direct === 0 && p.relay === 0) return 'none';
  if (p.relay === 0) return 'direct';
  if (p.direct === 0) return 'relay';
  return `${p.direct} direct, ${p.relay} relay`;
}

/** The whole summary, for the detail page and the list cell's title. */
export function pathDetail(p: PathSummary | undefined): string {
  if (!p) return 'not reported (offline, or an agent before protocol 14)';
  return `${p.direct} direct, ${p.relay} relayed, ${p.none} without a path yet`;
}
