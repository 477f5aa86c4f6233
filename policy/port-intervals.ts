/**
 * Port sets as sorted, merged intervals, and their text in an access diff (`22`, `80,443`,
 * `8000-8100`, `*`), with protocol numbers by name.
 */
export type Interval = [number, number];

const NAMES: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  132: 'sctp',
};

export function normalize(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function subtract(a: Interval[], b: Interval[]): Interval[] {
  let out = normalize(a);
  for (const [clo, chi] of normalize(b)) {
    out = out.flatMap(([lo, hi]): Interval[] => {
      if (hi < clo || lo > chi) return [[lo, hi]];
      const parts: Interval[] = [];
      if (lo < clo) parts.push([lo, clo - 1]);
      if (hi > chi) parts.push([chi + 1, hi]);
      return parts;
    });
  }
  return out;
}

export function formatIntervals(list: Interval[]): string {
  if (list.length === 1 && list[0]?.[0] === 0 && list[0]?.[1] === 65535) return '*';
  return list.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

export function protoNames(protos: number[]): string {
  return [...protos]
    .sort((a, b) => a - b)
    .map((p) => NAMES[p] ?? String(p))
    .join(',');
}

/** Per protocol, the ports in `from` that `to` lacks, grouped by port set (TCP+UDP+ICMP read as one line). */
export function lost(
  from: Map<number, Interval[]>,
  to: Map<number, Interval[]> | undefined,
): Array<{ ports: string; protos: string }> {
  const byPorts = new Map<string, number[]>();
  for (const [proto, ports] of from) {
    const gone = subtract(ports, to?.get(proto) ?? []);
    if (gone.length === 0) continue;
    const key = formatIntervals(gone);
    byPorts.set(key, [...(byPorts.get(key) ?? []), proto]);
  }
  return [...byPorts].map(([ports, protos]) => ({ ports, protos: protoNames(protos) }));
}
