import type { FilterRule } from '../../protocol/filter.ts';
import type { Address } from '../../protocol/ip/address.ts';
import { parsePrefix, prefixContains } from '../../protocol/ip/prefix.ts';

/** Capability name -> the values every grant that applies gave it, in filter order. */
export type CapabilityMap = Record<string, unknown[]>;

/**
 * The application capabilities a peer at `source` holds towards this node: the CapGrants of this
 * node's own packet filter (what the server compiled from the policy's `app` grants) whose
 * sources hold `source` and whose destinations hold this node's address of the same family, as
 * Tailscale's agent answers WhoIs. Values of one capability from several grants are appended.
 */
export function capabilitiesOf(
  source: Address,
  ownAddresses: readonly string[],
  filter: readonly FilterRule[],
): CapabilityMap {
  const own = ownAddresses
    .map((a) => parsePrefix(a, { hostBits: 'keep' }))
    .flatMap((p) =>
      p.ok && p.value.family === source.family ? [{ family: p.value.family, value: p.value.address }] : [],
    );
  const out: CapabilityMap = {};
  for (const rule of filter) {
    if (!rule.capGrant || !holds(rule.srcIPs, source)) continue;
    for (const grant of rule.capGrant) {
      if (!own.some((a) => holds(grant.dsts, a))) continue;
      for (const [name, values] of Object.entries(grant.capMap)) (out[name] ??= []).push(...values);
    }
  }
  return out;
}

function holds(list: readonly string[], a: Address): boolean {
  return list.some((text) => {
    if (text === '*') return true;
    const p = parsePrefix(text, { hostBits: 'keep' });
    return p.ok && prefixContains(p.value, a);
  });
}
