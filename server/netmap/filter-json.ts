import type { FilterRule } from '../../protocol/filter.ts';

/**
 * Serializes a node's packet filter for the wire. The policy engine hands every node reached
 * by a rule the same source list (often hundreds of addresses), so that part is serialized
 * once per list and reused; only the node's own destinations are written each time.
 */
const shared = new WeakMap<readonly unknown[], string>();

function once(list: readonly unknown[]): string {
  let json = shared.get(list);
  if (json === undefined) {
    json = JSON.stringify(list);
    shared.set(list, json);
  }
  return json;
}

export function filterJson(rules: readonly FilterRule[]): string {
  const parts = rules.map((r) => {
    const cap = r.capGrant === undefined ? '' : `,"capGrant":${JSON.stringify(r.capGrant)}`;
    const dsts = r.dstPorts.map((d) => `{"ip":${JSON.stringify(d.ip)},"ports":{"first":${d.ports.first},"last":${d.ports.last}}}`);
    return `{"srcIPs":${once(r.srcIPs)},"dstPorts":[${dsts.join(',')}],"ipProto":${once(r.ipProto)}${cap}}`;
  });
  return `[${parts.join(',')}]`;
}
