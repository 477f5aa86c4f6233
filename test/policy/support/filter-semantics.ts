/**
 * Compares packet filters by meaning: two filters are equal when they accept exactly the same
 * (source address, destination address, destination port, protocol) tuples, however the rules
 * are grouped or ordered and whether addresses are written as IPs, CIDRs, `a-b` ranges or `*`.
 *
 * Each rule is a union of boxes (source range x destination range x port range) per protocol.
 * Two unions are compared on the grid of all box boundaries: inside one grid cell every point is
 * in the same boxes, so checking one corner per cell decides the whole space.
 */
import { formatAddress, parseAddress } from '../../../protocol/ip/address.ts';
import { parsePrefix } from '../../../protocol/ip/prefix.ts';
import { ALL_V4, ALL_V6, lineAddress, lineValue, prefixRange, type Range } from '../../../protocol/ip/range.ts';
import type { TailscaleFilterRule } from '../../../policy/tailscale-format.ts';

const DEFAULT_PROTOS = [6, 17, 1, 58];
const EVERYWHERE: Range[] = [ALL_V4, ALL_V6];

interface Box {
  src: Range;
  dst: Range;
  ports: Range;
}

export function addressRanges(text: string): Range[] {
  if (text === '*') return EVERYWHERE;
  const dash = text.indexOf('-');
  if (dash > 0 && !text.includes('/')) {
    const lo = parseAddress(text.slice(0, dash));
    const hi = parseAddress(text.slice(dash + 1));
    if (!lo.ok || !hi.ok || lo.value.family !== hi.value.family || lo.value.value > hi.value.value)
      throw new Error(`bad address range ${text}`);
    return [{ lo: lineValue(lo.value), hi: lineValue(hi.value) }];
  }
  // Filters may carry CIDRs with host bits set; they mean the enclosing prefix.
  const p = parsePrefix(text, { hostBits: 'keep' });
  if (!p.ok) throw new Error(`bad address ${text}`);
  return [prefixRange(p.value)];
}

function boxesByProto(rules: TailscaleFilterRule[]): Map<number, Box[]> {
  const out = new Map<number, Box[]>();
  for (const r of rules) {
    if (!r.DstPorts) continue; // a capability rule grants no packets
    const protos = r.IPProto && r.IPProto.length > 0 ? r.IPProto : DEFAULT_PROTOS;
    const srcs = r.SrcIPs.flatMap(addressRanges);
    for (const d of r.DstPorts) {
      const dsts = addressRanges(d.IP);
      const ports = { lo: BigInt(d.Ports.First), hi: BigInt(d.Ports.Last) };
      for (const proto of protos) {
        const list = out.get(proto) ?? [];
        for (const src of srcs) for (const dst of dsts) list.push({ src, dst, ports });
        out.set(proto, list);
      }
    }
  }
  return out;
}

function cuts(ranges: Range[]): bigint[] {
  const set = new Set<bigint>();
  for (const r of ranges) {
    set.add(r.lo);
    set.add(r.hi + 1n);
  }
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function inside(v: bigint, r: Range): boolean {
  return r.lo <= v && v <= r.hi;
}

/** A tuple one filter accepts and the other does not, or undefined when they mean the same. */
export function filterDifference(actual: TailscaleFilterRule[], expected: TailscaleFilterRule[]): string | undefined {
  const a = boxesByProto(actual);
  const b = boxesByProto(expected);
  for (const proto of new Set([...a.keys(), ...b.keys()])) {
    const boxesA = a.get(proto) ?? [];
    const boxesB = b.get(proto) ?? [];
    const all = [...boxesA, ...boxesB];
    const srcCuts = cuts(all.map((x) => x.src));
    const dstCuts = cuts(all.map((x) => x.dst));
    const portCuts = cuts(all.map((x) => x.ports));
    for (const s of srcCuts) {
      const aS = boxesA.filter((x) => inside(s, x.src));
      const bS = boxesB.filter((x) => inside(s, x.src));
      for (const d of dstCuts) {
        const aD = aS.filter((x) => inside(d, x.dst));
        const bD = bS.filter((x) => inside(d, x.dst));
        for (const p of portCuts) {
          const inA = aD.some((x) => inside(p, x.ports));
          const inB = bD.some((x) => inside(p, x.ports));
          if (inA !== inB) {
            return `${inA ? 'accepts' : 'does not accept'} ${formatAddress(lineAddress(s))} -> ${formatAddress(lineAddress(d))} port ${p} proto ${proto}, expected ${inB ? 'accept' : 'no accept'}`;
          }
        }
      }
    }
  }
  const caps = (rules: TailscaleFilterRule[]) =>
    JSON.stringify(
      rules
        .filter((r) => r.CapGrant)
        .map((r) => JSON.stringify(r))
        .sort(),
    );
  if (caps(actual) !== caps(expected)) return 'capability grants differ';
  return undefined;
}
