import type { StatusResponse } from '../../agent/local-api/messages.ts';

/**
 * `serving: kube primary (100.127.12.34), ...` for `up` and `status`: which mesh services this
 * replica serves and whether peers reach them here right now.
 */
export function servicesLine(self: NonNullable<StatusResponse['self']>): string | undefined {
  const services = self.services ?? [];
  if (services.length === 0) return undefined;
  const each = services.map(
    (s) => `${s.name} ${s.state}${s.addresses[0] ? ` at ${s.addresses[0]}` : ''}${s.reason ? ` (${s.reason})` : ''}`,
  );
  return `serving: ${each.join(', ')}`;
}
