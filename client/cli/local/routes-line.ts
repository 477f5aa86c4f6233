import type { StatusResponse } from '../../agent/local-api/messages.ts';

/**
 * `routes: 10.1.0.0/24 approved, 10.2.0.0/24 awaiting approval (...)` for `up` and `status`:
 * an advertised route carries nothing until the server approves it, and a person who just ran
 * `up --advertise-routes` must be told so, with the command that approves it. The command
 * names every route, since approve-routes sets the node's whole approved list.
 */
export function routesLine(self: NonNullable<StatusResponse['self']>): string | undefined {
  const routes = self.routes ?? [];
  if (routes.length === 0) return undefined;
  const each = routes
    .map(
      (r) =>
        `${r.prefix} ${r.approved ? (r.role ? `${r.role}${r.reason ? ` (${r.reason})` : ''}` : 'approved') : 'awaiting approval'}`,
    )
    .join(', ');
  const waiting = routes.some((r) => !r.approved);
  const how = waiting
    ? ` (an administrator approves with: trellis-server nodes approve-routes ${self.id} ${routes.map((r) => r.prefix).join(' ')})`
    : '';
  return `routes: ${each}${how}`;
}

/**
 * The subnet routes peers offer, one a line: `10.1.0.0/24 via r1: accepted`, `... not accepted
 * (trellis up --accept-routes)`, or refused with the reason and its code, and how to force it.
 */
export function offeredRoutesLines(s: StatusResponse): string[] {
  return (s.subnetRoutes ?? []).map((r) => {
    const what =
      r.state === 'accepted'
        ? `accepted${r.forced ? ` (forced: ${r.refusal?.message ?? ''})` : ''}`
        : r.state === 'not-accepted'
          ? 'offered, not accepted (trellis up --accept-routes)'
          : `refused: ${r.refusal?.message ?? 'not a valid prefix'}${r.refusal ? ` [${r.refusal.code}] (force with trellis up --accept-routes-force ${r.prefix})` : ''}`;
    return `subnet: ${r.prefix} via ${r.via}: ${what}`;
  });
}
