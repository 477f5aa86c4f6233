import type { ApiScope } from '../store/records.ts';

/**
 * What a set of scopes allows: `admin` allows everything, and `nodes` (changing any node)
 * includes `routes` (approving a node's routes), so keys issued before `routes` existed keep
 * working. Used for API keys and for the console's roles alike.
 */
export function scopesGrant(held: readonly ApiScope[], needed: ApiScope): boolean {
  if (held.includes('admin') || held.includes(needed)) return true;
  return needed === 'routes' && held.includes('nodes');
}
