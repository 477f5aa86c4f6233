/**
 * evaluate and explain: may node A reach node B on a port, and why (not)? Answers come from the
 * same compiled filters the nodes enforce, so an explanation never disagrees with the network.
 */
import { listCovers } from './address-match.ts';
import type { CompiledRule } from './compiled.ts';
import { formatPosition, type Position } from './diagnostics.ts';
import { destinationsOn } from './filter-template.ts';
import type { PolicyNetwork } from './network.ts';
import type { NodeEntry } from './node-index.ts';
import type { PortRange } from './model.ts';
import { formatPorts, parseProto } from './ports.ts';
import { PolicyQueryError } from './query-error.ts';
import { selectorText } from './selector.ts';

interface EvaluationQuery {
  src: string;
  dst: string;
  port: number;
  /** A protocol name or number; TCP when absent. */
  proto?: string | number;
}

export interface RuleMatch {
  at: Position;
  origin: 'acl' | 'grant';
  /** The rule as written, shortened: `src -> dst`. */
  summary: string;
}

export interface Evaluation {
  verdict: 'accept' | 'deny';
  /** Rules that allow the traffic (empty when denied). */
  allowedBy: RuleMatch[];
  /** For a denial: why each rule that came close does not apply. */
  reasons: string[];
  /** The protocol asked about, by name (`tcp` when the query named none). */
  proto: string;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp' };

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

/** A rule as written, shortened: `src -> dst:ports`. */
export function summary(r: CompiledRule): string {
  const src = r.rule.src.map((s) => selectorText(s.value)).join(', ');
  const dst = r.rule.dst.map((d) => `${selectorText(d.selector.value)}:${formatPorts(d.ports)}`).join(', ');
  return `${src} -> ${dst}`;
}

function describeNode(e: NodeEntry): string {
  const n = e.node;
  if (n.tags.length > 0) return `${n.name} (tagged ${n.tags.join(', ')}; tagged nodes have no user identity)`;
  if (!n.user) return `${n.name} (no user and no tags)`;
  // Only groups that some rule names are indexed, which are the ones that matter here.
  const groups = [...e.keys.src].filter((k) => k.startsWith('group:')).sort();
  return `${n.name} (user ${n.user}${groups.length > 0 ? `, in ${groups.join(', ')}` : ''})`;
}

function mergePorts(list: PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const p of [...list].sort((a, b) => a.first - b.first)) {
    const last = out[out.length - 1];
    if (last && p.first <= last.last + 1) last.last = Math.max(last.last, p.last);
    else out.push({ ...p });
  }
  return out;
}

export function resolveProto(proto: string | number | undefined): number {
  if (proto === undefined) return 6;
  if (typeof proto === 'number') return proto;
  const p = parseProto(proto);
  if (!p.ok) throw new PolicyQueryError('policy.invalid_proto', p.message);
  return p.value;
}

export function evaluate(network: PolicyNetwork, q: EvaluationQuery): Evaluation {
  const state = network.internal;
  const src = state.entry(q.src);
  const dst = state.entry(q.dst);
  if (!src) throw new PolicyQueryError('policy.unknown_node', `unknown source node "${q.src}"`);
  if (!dst) throw new PolicyQueryError('policy.unknown_node', `unknown destination node "${q.dst}"`);
  return judge(network, src, { entry: dst, name: dst.node.name }, q.port, resolveProto(q.proto));
}

/**
 * Where the traffic is delivered: a node's own addresses, or (through a router) an address it
 * routes, `onTarget` keeping the filter entries that cover that address.
 */
export interface Target {
  entry: NodeEntry;
  /** How the reasons name it: `db1`, `10.20.0.5 via router-1`. */
  name: string;
  onTarget?: (ip: string) => boolean;
}

/** The rules the target's node enforces, judged for src's traffic to the target on port/proto. */
export function judge(network: PolicyNetwork, src: NodeEntry, target: Target, port: number, proto: number): Evaluation {
  const state = network.internal;
  const dst = target.entry;
  const allowedBy: RuleMatch[] = [];
  const reasons: string[] = [];
  const reaching = state.rulesReaching(dst.node.id).filter((r) => !r.app);
  let onTargetRules = 0;
  for (const r of reaching) {
    const sources = state.sourcesFor(r, dst);
    const srcOk = src.keys.addresses.length > 0 && src.keys.addresses.every((a) => listCovers(sources, a));
    const entries = destinationsOn(r, dst.keys).filter((d) => !target.onTarget || target.onTarget(d.ip));
    if (target.onTarget && entries.length === 0) continue;
    onTargetRules++;
    const portOk = entries.some((d) => d.ports.first <= port && port <= d.ports.last);
    const protoOk = r.rule.protos.includes(proto);
    const where = formatPosition(r.rule.at);
    if (srcOk && portOk && protoOk) {
      allowedBy.push({ at: r.rule.at, origin: r.rule.origin, summary: summary(r) });
    } else if (srcOk && !portOk) {
      const ports = formatPorts(mergePorts(entries.map((d) => d.ports)));
      reasons.push(`${where}: ${summary(r)} lets ${src.node.name} reach ${target.name} only on ports ${ports}`);
    } else if (srcOk && !protoOk) {
      reasons.push(
        `${where}: ${summary(r)} lets ${src.node.name} reach ${target.name}:${port} only over ${r.rule.protos.map(protoName).join(', ')}`,
      );
    } else if (portOk && protoOk) {
      const who = r.self ? "the same user's devices among " : '';
      reasons.push(
        `${where}: ${summary(r)} reaches ${target.name}:${port} but only from ${who}${r.rule.src.map((s) => selectorText(s.value)).join(', ')}, and ${describeNode(src)} is not one of them`,
      );
    }
  }
  if (allowedBy.length > 0) return { verdict: 'accept', allowedBy, reasons: [], proto: protoName(proto) };
  if (onTargetRules === 0)
    reasons.push(
      target.onTarget
        ? `no rule has ${target.name} among its destinations`
        : `no rule has ${describeNode(dst)} among its destinations`,
    );
  else if (reasons.length === 0)
    reasons.push(
      `${onTargetRules} rule(s) reach ${target.name}, but none on port ${port}/${protoName(proto)} from ${describeNode(src)}`,
    );
  return { verdict: 'deny', allowedBy, reasons, proto: protoName(proto) };
}

/** evaluate, as text for people: the verdict and the rules (file:line) behind it. */
export function explain(network: PolicyNetwork, q: EvaluationQuery): string {
  const r = evaluate(network, q);
  const src = network.node(q.src)?.name ?? q.src;
  const dst = network.node(q.dst)?.name ?? q.dst;
  const proto = protoName(resolveProto(q.proto));
  if (r.verdict === 'accept') {
    return [
      `accept: ${src} -> ${dst}:${q.port}/${proto}`,
      ...r.allowedBy.map((m) => `  allowed by ${formatPosition(m.at)}: ${m.summary}`),
    ].join('\n');
  }
  return [`deny: ${src} -> ${dst}:${q.port}/${proto}: no rule allows it`, ...r.reasons.map((s) => `  ${s}`)].join('\n');
}
