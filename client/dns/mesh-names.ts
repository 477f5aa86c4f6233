import {
  AUTHORITATIVE_ANSWER,
  RECURSION_DESIRED,
  type Answer,
  type DecodedPacket,
  type Packet,
  type Question,
} from 'dns-packet';

/**
 * The names of the mesh as this node sees them: `<name>.<domain>` for itself and every peer in
 * its map, answered with their mesh addresses (A, AAAA), and the reverse (PTR) of each address.
 * Only the mesh domain and the mesh addresses' reverse names are ours; DnsServer forwards other
 * names when it has upstreams, and this refuses them rather than guess.
 */
export interface MeshHost {
  name: string;
  /** Bare addresses: `100.64.0.7`, `fd7a:115c:a1e0::7`. */
  addresses: readonly string[];
}

/** Short: a peer that leaves or changes address is seen within a minute. */
const TTL_SECONDS = 60;
const RCODE = { noError: 0, formErr: 1, nxDomain: 3, notImp: 4, refused: 5 } as const;
/** A DNS label: what a peer's name must be to become one. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class MeshNames {
  readonly domain: string;
  private readonly byName = new Map<string, readonly string[]>();
  private readonly byReverse = new Map<string, string>();

  constructor(domain: string, hosts: readonly MeshHost[]) {
    this.domain = normalize(domain);
    for (const h of hosts) {
      const label = h.name.toLowerCase();
      if (!LABEL.test(label)) continue;
      const fqdn = `${label}.${this.domain}`;
      if (this.byName.has(fqdn)) continue; // names are unique per server; the first wins if not
      this.byName.set(fqdn, h.addresses);
      for (const a of h.addresses) this.byReverse.set(reverseName(a), fqdn);
    }
  }

  /** Whether `name` is ours to answer: in the mesh domain, or the reverse name of a mesh address. */
  owns(name: string): boolean {
    const n = normalize(name);
    return n === this.domain || n.endsWith(`.${this.domain}`) || this.byReverse.has(n);
  }

  /** The addresses of `name` (any case, with or without the final dot); undefined if unknown. */
  lookup(name: string): readonly string[] | undefined {
    return this.byName.get(normalize(name));
  }

  /** The response to one query. */
  answer(query: DecodedPacket): Packet {
    const question = query.questions?.[0];
    const reply = (rcode: number, answers: Answer[] = []): Packet => ({
      type: 'response',
      id: query.id ?? 0,
      flags: AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & RECURSION_DESIRED) | rcode,
      questions: question ? [question] : [],
      answers,
    });
    if (query.type !== 'query' || !question || query.questions!.length !== 1) return reply(RCODE.formErr);
    if (((query.flags ?? 0) >> 11) & 0xf) return reply(RCODE.notImp); // only standard queries
    if (question.class !== 'IN') return reply(RCODE.refused);
    const name = normalize(question.name);
    const reverse = this.byReverse.get(name);
    if (reverse !== undefined)
      return reply(
        RCODE.noError,
        question.type === 'PTR' ? [{ type: 'PTR', name: question.name, ttl: TTL_SECONDS, data: reverse }] : [],
      );
    if (name !== this.domain && !name.endsWith(`.${this.domain}`)) return reply(RCODE.refused);
    const addresses = this.byName.get(name);
    if (!addresses) return reply(name === this.domain ? RCODE.noError : RCODE.nxDomain);
    return reply(RCODE.noError, records(question, addresses));
  }
}

function records(q: Question, addresses: readonly string[]): Answer[] {
  const type: string = q.type;
  const family = type === 'A' ? 4 : type === 'AAAA' ? 6 : type === 'ANY' ? 0 : -1;
  const out: Answer[] = [];
  for (const a of addresses) {
    const v6 = a.includes(':');
    if (family === 0 || family === (v6 ? 6 : 4))
      out.push({ type: v6 ? 'AAAA' : 'A', name: q.name, ttl: TTL_SECONDS, data: a });
  }
  return out; // a name we know with no record of the type asked: NOERROR, no answers (NODATA)
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** `100.64.0.7` -> `7.0.64.100.in-addr.arpa`; IPv6 by nibbles under ip6.arpa. */
export function reverseName(address: string): string {
  if (!address.includes(':')) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head = '', tail = ''] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const full = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0'));
  return `${full.join('').split('').reverse().join('.')}.ip6.arpa`;
}
