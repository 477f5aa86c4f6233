/**
 * Destinations (`ALIAS:PORTS`), port lists and IP protocols, as in Tailscale's policy files.
 */
import type { PortRange } from './model.ts';

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Protocols a rule applies to when it names none: TCP, UDP, ICMP, ICMPv6. */
export const DEFAULT_PROTOS: readonly number[] = [6, 17, 1, 58];
/** Only these protocols have ports; rules for the others must say `:*`. */
const PORT_PROTOCOLS = new Set([6, 17, 132]);

const PROTOCOL_NAMES: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  ipv4: 4,
  'ip-in-ip': 4,
  tcp: 6,
  egp: 8,
  igp: 9,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  sctp: 132,
  fc: 133,
};

export const ALL_PORTS: PortRange = { first: 0, last: 65535 };

/** Splits `ALIAS:PORTS` at the last `:`; `[v6]:PORTS` keeps the brackets off the alias. */
export function splitDestination(text: string): Parsed<{ alias: string; ports: string }> {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return { ok: false, message: `"${text}": expected [IPv6]:PORTS` };
    return { ok: true, value: { alias: text.slice(1, close), ports: text.slice(close + 2) } };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { ok: false, message: `"${text}" has no ports: write ${text}:* or ${text}:PORT` };
  return { ok: true, value: { alias: text.slice(0, colon), ports: text.slice(colon + 1) } };
}

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** `*`, or a comma list of `N` (1-65535) and `A-B` (A <= B). */
export function parsePorts(text: string): Parsed<PortRange[]> {
  if (text === '*') return { ok: true, value: [ALL_PORTS] };
  const hint = 'use *, a port 1-65535, a list such as 80,443 or a range such as 8000-8100';
  if (text === '') return { ok: false, message: `empty port list: ${hint}` };
  const out: PortRange[] = [];
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    const first = parsePort(dash < 0 ? part : part.slice(0, dash));
    const last = dash < 0 ? first : parsePort(part.slice(dash + 1));
    if (first === undefined || last === undefined || first === 0) {
      return { ok: false, message: `"${part}" is not a port: ${hint}` };
    }
    if (first > last) return { ok: false, message: `port range "${part}" runs backwards` };
    out.push({ first, last });
  }
  return { ok: true, value: out };
}

/** A protocol name or a decimal number 1-255. */
export function parseProto(text: string): Parsed<number> {
  const named = PROTOCOL_NAMES[text.toLowerCase()];
  if (named !== undefined) return { ok: true, value: named };
  if (/^[0-9]{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= 255) return { ok: true, value: Number(text) };
  return { ok: false, message: `unknown protocol "${text}": use tcp, udp, icmp, sctp, ... or a number 1-255` };
}

/** A protocol's name (`tcp`, `udp`, ...): what people write by mistake where a port belongs. */
export function isProtocolName(text: string): boolean {
  return Object.hasOwn(PROTOCOL_NAMES, text.toLowerCase());
}

/** Whether ports other than `*` may be given for these protocols. */
export function protosHavePorts(protos: readonly number[]): boolean {
  return protos.every((p) => PORT_PROTOCOLS.has(p));
}

export function isAllPorts(ports: PortRange[]): boolean {
  return ports.length === 1 && ports[0]?.first === 0 && ports[0]?.last === 65535;
}

export function formatPorts(ports: PortRange[]): string {
  if (isAllPorts(ports)) return '*';
  return ports.map((p) => (p.first === p.last ? String(p.first) : `${p.first}-${p.last}`)).join(',');
}
