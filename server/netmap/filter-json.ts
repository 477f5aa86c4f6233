import type { FilterRule } from '../../protocol/filter.ts';
import type { JsonText } from '../../protocol/json-text.ts';
import { expandTemplate, type FilterTemplate, type TemplateRule } from '../../policy/index.ts';

/**
 * Packet filters for the wire. Nodes with the same identity keys share one filter template (see
 * policy/filter-template.ts); it is serialized here once, and each node's filter is written by
 * filling in its own addresses: no per-node rule objects, and source lists (often hundreds of
 * addresses) are copied as ready text. `json(own)` writes exactly
 * `JSON.stringify(expandTemplate(template, own))`.
 *
 * Templates with equal content are one `SharedFilter` (see `SharedFilters`), so a session can
 * tell whether a node's filter changed by identity and its addresses, without writing it.
 */
export class SharedFilter {
  private readonly rules: RuleWriter[];

  /** `key`: the template's content, unambiguous (see `templateKey`). */
  constructor(
    readonly template: FilterTemplate,
    readonly key: string,
  ) {
    this.rules = template.map((r) => (r.app ? appRule(r) : packetRule(r)));
  }

  /** Written by hand for speed; test/server/netmap/filter-json.test.ts holds it to JSON.stringify. */
  json(own: readonly string[]): JsonText<FilterRule[]> {
    let out = '';
    for (const write of this.rules) {
      const rule = write(own);
      if (rule !== '') out += out === '' ? rule : `,${rule}`;
    }
    return `[${out}]` as JsonText<FilterRule[]>;
  }
}

/** One rule's JSON for a node with these own addresses; '' when it has no destination there. */
type RuleWriter = (own: readonly string[]) => string;

const shared = new WeakMap<readonly unknown[], string>();

function once(list: readonly unknown[]): string {
  let json = shared.get(list);
  if (json === undefined) {
    json = JSON.stringify(list);
    shared.set(list, json);
  }
  return json;
}

function packetRule(r: TemplateRule): RuleWriter {
  const head = `{"srcIPs":${once(r.srcIPs)},"dstPorts":[`;
  const tail = `],"ipProto":${once(r.ipProto)}}`;
  // Per destination: the ready entries of literal addresses, or the port halves of own ones.
  const parts = r.dsts.map((d) => {
    const ports = d.ports.map((p) => `,"ports":{"first":${p.first},"last":${p.last}}}`);
    if (d.ips === null) return ports;
    return d.ips.flatMap((ip) => ports.map((p) => `{"ip":${JSON.stringify(ip)}${p}`)).join(',');
  });
  return (own) => {
    let dsts = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        if (part !== '') dsts += dsts === '' ? part : `,${part}`;
        continue;
      }
      for (const ip of own) {
        const open = `{"ip":${JSON.stringify(ip)}`;
        for (const p of part) dsts += dsts === '' ? open + p : `,${open}${p}`;
      }
    }
    return dsts === '' ? '' : head + dsts + tail;
  };
}

/** Capability grants are rare and small: expanded and written whole. */
function appRule(r: TemplateRule): RuleWriter {
  return (own) => {
    const [rule] = expandTemplate([r], own);
    return rule ? ruleJson(rule) : '';
  };
}

function ruleJson(r: FilterRule): string {
  const cap = r.capGrant === undefined ? '' : `,"capGrant":${JSON.stringify(r.capGrant)}`;
  const dsts = r.dstPorts.map(
    (d) => `{"ip":${JSON.stringify(d.ip)},"ports":{"first":${d.ports.first},"last":${d.ports.last}}}`,
  );
  return `{"srcIPs":${once(r.srcIPs)},"dstPorts":[${dsts.join(',')}],"ipProto":${once(r.ipProto)}${cap}}`;
}

/**
 * The template's content as one string, unambiguous: source lists are shared arrays whose JSON
 * is kept, so only the small parts are written anew. Own addresses are `null`.
 */
function templateKey(template: FilterTemplate): string {
  let key = '';
  for (const r of template) {
    key += `${once(r.srcIPs)}|${JSON.stringify(r.dsts)}|${once(r.ipProto)}|${r.app === undefined ? '' : JSON.stringify(r.app)}\n`;
  }
  return key;
}

/**
 * One `SharedFilter` per template content, for as long as anyone holds it: a policy change that
 * recompiles a group's template to the same rules gives back the filter its sessions already
 * have, so they send nothing.
 */
export class SharedFilters {
  private readonly byTemplate = new WeakMap<FilterTemplate, SharedFilter>();
  private readonly byKey = new Map<string, WeakRef<SharedFilter>>();
  private sweepAt = 64;

  of(template: FilterTemplate): SharedFilter {
    let filter = this.byTemplate.get(template);
    if (filter) return filter;
    const key = templateKey(template);
    filter = this.byKey.get(key)?.deref();
    if (!filter) {
      filter = new SharedFilter(template, key);
      this.byKey.set(key, new WeakRef(filter));
      if (this.byKey.size >= this.sweepAt) this.sweep();
    }
    this.byTemplate.set(template, filter);
    return filter;
  }

  private sweep(): void {
    for (const [key, ref] of this.byKey) if (ref.deref() === undefined) this.byKey.delete(key);
    this.sweepAt = Math.max(64, this.byKey.size * 2);
  }
}
