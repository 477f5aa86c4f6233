import type { AccessDiff } from '../../policy/index.ts';

/** At most this many access changes are written into one audit event; the rest are counted. */
export const MAX_LINES = 50;

/**
 * The access diff of a policy change as the audit event's text: who gained and lost what, one
 * line each (`+ alice -> db 5432 (tcp)`), so the trail answers "what did this change do"
 * without the versions at hand. `POST /api/v1/policy/diff {from, to}` gives the whole diff.
 */
export function changeNote(from: number, to: number, diff: AccessDiff, complete = true): string {
  const head = complete
    ? `policy version ${from} -> ${to}: ${diff.granted.length} granted, ${diff.revoked.length} revoked`
    : `policy version ${from} -> ${to}: more than ${MAX_LINES} access changes, the first below; POST /api/v1/policy/diff {from: ${from}, to: ${to}} lists them all`;
  const lines = [
    ...diff.granted.map((c) => `+ ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`),
    ...diff.revoked.map((c) => `- ${c.src} -> ${c.dst} ${c.ports} (${c.protos})`),
  ];
  const shown = lines.slice(0, MAX_LINES);
  if (lines.length > MAX_LINES) shown.push(complete ? `... and ${lines.length - MAX_LINES} more` : '...');
  return [head, ...shown].join('\n');
}
