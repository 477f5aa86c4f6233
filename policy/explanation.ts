/**
 * The answer to "may SRC reach DST:PORT, and which rules decide it", in the wire shape of the
 * server's explain API (protocol/policy-admin.ts). The server's `POST /api/v1/policy/explain`,
 * the console's explain panel and `trellis policy eval --json` all answer through this one
 * builder, so they cannot disagree.
 */
import { parseAddress } from '../protocol/ip/address.ts';
import type { Explanation, RuleRef } from '../protocol/policy-admin.ts';
import { evaluate, explain } from './evaluate.ts';
import type { PolicyNetwork } from './network.ts';
import { nodeByRef, type PolicyNode } from './node.ts';
import { evaluateRoute, explainRoute } from './route-evaluate.ts';

/** What a question's destination is: one of the network's nodes, or an address behind a router. */
export type ExplainTarget = { node: PolicyNode } | { address: string };

/** `dst` as a node (by id, then by name), else as an IP address; undefined when it is neither. */
export function explainTarget(nodes: readonly PolicyNode[], dst: string): ExplainTarget | undefined {
  const node = nodeByRef(nodes, dst);
  if (node) return { node };
  return parseAddress(dst).ok ? { address: dst } : undefined;
}

export interface ExplainQuestion {
  src: PolicyNode;
  dst: ExplainTarget;
  port: number;
  proto?: string | undefined;
  /** Prefix -> node id of the primary router the server elected (policy/route-evaluate.ts). */
  primaries?: ReadonlyMap<string, string> | undefined;
}

/** The verdict, the rules behind it and the explanation text. Throws PolicyQueryError for an unknown protocol. */
export function explanation(net: PolicyNetwork, q: ExplainQuestion): Omit<Explanation, 'policyVersion'> {
  const proto = q.proto !== undefined ? { proto: q.proto } : {};
  const src = { id: q.src.id, name: q.src.name };
  if ('address' in q.dst) {
    const query = {
      src: q.src.id,
      address: q.dst.address,
      port: q.port,
      ...proto,
      ...(q.primaries && { primaries: q.primaries }),
    };
    const verdict = evaluateRoute(net, query);
    const via = verdict.via;
    const router = via && net.node(via.router);
    return {
      verdict: verdict.verdict,
      src,
      dst: { id: q.dst.address, name: q.dst.address },
      port: q.port,
      proto: verdict.proto,
      ...(via &&
        router && { via: { kind: via.kind, router: { id: router.id, name: router.name }, prefix: via.prefix } }),
      allowedBy: verdict.allowedBy.map(ruleRef),
      reasons: verdict.reasons,
      text: explainRoute(net, query),
    };
  }
  const query = { src: q.src.id, dst: q.dst.node.id, port: q.port, ...proto };
  const verdict = evaluate(net, query);
  return {
    verdict: verdict.verdict,
    src,
    dst: { id: q.dst.node.id, name: q.dst.node.name },
    port: q.port,
    proto: verdict.proto,
    allowedBy: verdict.allowedBy.map(ruleRef),
    reasons: verdict.reasons,
    text: explain(net, query),
  };
}

/** A rule as the wire names it: `file:line:col`, where it comes from, and what it says. */
export function ruleRef(m: {
  at: { file: string; line: number; column: number };
  origin: 'acl' | 'grant';
  summary: string;
}): RuleRef {
  return {
    at: `${m.at.file}:${m.at.line}:${m.at.column}`,
    line: m.at.line,
    column: m.at.column,
    origin: m.origin,
    summary: m.summary,
  };
}
