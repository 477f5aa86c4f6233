/**
 * Does a filter's address list (IPs, CIDRs, `*`) cover an address? Lists come from compiled
 * rules and are shared between nodes, so each is parsed once.
 */
import { parseAddress } from '../protocol/ip/address.ts';
import { parsePrefix } from '../protocol/ip/prefix.ts';
import { mergeRanges, rangesHave } from '../protocol/ip/range-set.ts';
import { ALL_V4, ALL_V6, lineValue, prefixRange, type Range } from '../protocol/ip/range.ts';

const parsed = new WeakMap<readonly string[], Range[]>();

/** The list as merged ranges on the one address line (IPv4 below IPv6), parsed once per list. */
export function rangesOf(list: readonly string[]): Range[] {
  let out = parsed.get(list);
  if (!out) {
    out = mergeRanges(
      list.flatMap((text): Range[] => {
        if (text === '*') return [ALL_V4, ALL_V6];
        const p = parsePrefix(text);
        return p.ok ? [prefixRange(p.value)] : [];
      }),
    );
    parsed.set(list, out);
  }
  return out;
}

export function listCovers(list: readonly string[], address: string): boolean {
  const a = parseAddress(address);
  return a.ok && rangesHave(rangesOf(list), lineValue(a.value));
}

/** Addresses as points on the address line, for asking many lists about them; those that do not parse are left out. */
export function addressValues(addresses: readonly string[]): bigint[] {
  return addresses.flatMap((text) => {
    const a = text === '' ? undefined : parseAddress(text);
    return a?.ok ? [lineValue(a.value)] : [];
  });
}

/** One list per destination entry, so that each is parsed once however often it is asked. */
const singles = new Map<string, readonly string[]>();

/** Does a destination entry (`*`, an IP or a CIDR) cover an address already on the address line (`addressValues`)? */
export function destinationCoversValue(ip: string, value: bigint): boolean {
  return rangesHave(rangesOf(single(ip)), value);
}

function single(ip: string): readonly string[] {
  let list = singles.get(ip);
  if (!list) singles.set(ip, (list = [ip]));
  return list;
}
