/**
 * A policy's rules, turned into lookups by identity key. A key names one thing a node can be:
 * `*`, a user email, `group:x`, `tag:x`, `autogroup:member`, `autogroup:tagged`,
 * `autogroup:internet`, or `p:PREFIX` for an address selector. Rules are indexed by the keys on
 * each side, so a change to one node only visits the rules that name one of its keys.
 */
import { formatPrefixOrHost } from '../protocol/ip/prefix.ts';
import { prefixRange, type Range } from '../protocol/ip/range.ts';
import type { Located, Policy, PortRange, Rule, Selector } from './model.ts';

type DstKind = 'any' | 'identity' | 'prefix' | 'internet' | 'self';

interface CompiledDst {
  key: string;
  kind: DstKind;
  /** For prefix destinations: the prefix as the filter writes it. */
  prefix?: string;
  ports: PortRange[];
}

export interface CompiledRule {
  id: number;
  rule: Rule;
  /** Every key whose members are sources (for peers). */
  srcKeys: string[];
  /** Keys whose members' own addresses make up the source list. */
  srcIdentityKeys: string[];
  /** Address selectors, as written into the source list. */
  srcPrefixes: string[];
  /** `*`: the mesh ranges and every approved subnet route. */
  srcAny: boolean;
  /** autogroup:danger-all: every address. */
  srcAll: boolean;
  /** Equal for rules whose source lists are equal under any nodes (what the list is cached by). */
  srcSpec: string;
  dsts: CompiledDst[];
  dstKeys: string[];
  /** Destinations are autogroup:self: each user's devices, from that user's devices. */
  self: boolean;
  /** Application capabilities only: no packets, but the two sides are peers (as in Tailscale). */
  app?: Record<string, unknown[]>;
}

interface PrefixKey {
  key: string;
  range: Range;
}

export interface CompiledPolicy {
  policy: Policy;
  rules: CompiledRule[];
  srcRulesByKey: Map<string, CompiledRule[]>;
  dstRulesByKey: Map<string, CompiledRule[]>;
  selfRules: CompiledRule[];
  /** Identity keys any rule names; others need no index. */
  identityKeys: Set<string>;
  prefixKeys: PrefixKey[];
  usesInternet: boolean;
  /** Tags named in grants' `via`: a node with one holds `via:TAG>KEY` for its prefix and internet keys. */
  viaTags: Set<string>;
  /**
   * Everything of the policy that a node's identity keys depend on (see `nodeKeys`): two
   * policies with the same basis give every node the same keys, so a new policy can keep the
   * node index of the old one and only the rules need comparing.
   */
  keyBasis: string;
}

export const ANY = '*';
export const MEMBER = 'autogroup:member';
export const TAGGED = 'autogroup:tagged';
export const INTERNET = 'autogroup:internet';

/** The key of destination key `key` reached through a router tagged `tag` (a grant's `via`). */
export function viaKey(tag: string, key: string): string {
  return `via:${tag}>${key}`;
}

function prefixKey(text: string): string {
  return `p:${text}`;
}

/** The key a selector matches by, and how it contributes addresses. */
function selectorKey(s: Selector): { key: string; kind: DstKind } {
  switch (s.kind) {
    case 'any':
      return { key: ANY, kind: 'any' };
    case 'prefix':
    case 'host':
      return { key: prefixKey(formatPrefixOrHost(s.prefix)), kind: 'prefix' };
    case 'user':
      return { key: s.email, kind: 'identity' };
    case 'group':
    case 'tag':
      return { key: s.name, kind: 'identity' };
    case 'autogroup':
      switch (s.name) {
        case 'danger-all':
          return { key: ANY, kind: 'any' };
        case 'internet':
          return { key: INTERNET, kind: 'internet' };
        case 'self':
          return { key: 'autogroup:self', kind: 'self' };
        default:
          return { key: `autogroup:${s.name}`, kind: 'identity' };
      }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  const out: CompiledPolicy = {
    policy,
    rules: [],
    srcRulesByKey: new Map(),
    dstRulesByKey: new Map(),
    selfRules: [],
    identityKeys: new Set(),
    prefixKeys: [],
    usesInternet: false,
    viaTags: new Set(),
    keyBasis: '',
  };
  const prefixes = new Map<string, Range>();
  for (const rule of policy.rules) {
    const srcKeys = new Set<string>();
    const srcIdentityKeys = new Set<string>();
    const srcPrefixes = new Set<string>();
    let srcAny = false;
    let srcAll = false;
    for (const { value: s } of rule.src) {
      const { key, kind } = selectorKey(s);
      srcKeys.add(key);
      if (kind === 'identity') {
        srcIdentityKeys.add(key);
        out.identityKeys.add(key);
      }
      if (kind === 'prefix' && (s.kind === 'prefix' || s.kind === 'host')) {
        srcPrefixes.add(formatPrefixOrHost(s.prefix));
        prefixes.set(key, prefixRange(s.prefix));
      }
      if (s.kind === 'any') srcAny = true;
      if (s.kind === 'autogroup' && s.name === 'danger-all') srcAll = true;
    }
    const dsts: CompiledDst[] = [];
    for (const d of rule.dst) {
      const s = d.selector.value;
      const { key, kind } = selectorKey(s);
      const dst: CompiledDst = { key, kind, ports: d.ports };
      if (s.kind === 'prefix' || s.kind === 'host') {
        dst.prefix = formatPrefixOrHost(s.prefix);
        prefixes.set(key, prefixRange(s.prefix));
      }
      if (kind === 'identity') out.identityKeys.add(key);
      if (kind === 'internet') out.usesInternet = true;
      // Through named routers only: the rule is indexed by keys that only their routes give.
      if (rule.via) for (const tag of rule.via) dsts.push({ ...dst, key: viaKey(tag, key) });
      else dsts.push(dst);
    }
    for (const tag of rule.via ?? []) out.viaTags.add(tag);
    const compiled: CompiledRule = {
      id: out.rules.length,
      rule,
      srcKeys: [...srcKeys],
      srcIdentityKeys: [...srcIdentityKeys],
      srcPrefixes: [...srcPrefixes],
      srcAny,
      srcAll,
      srcSpec: JSON.stringify([srcAll, srcAny, [...srcPrefixes].sort(), [...srcIdentityKeys].sort()]),
      dsts,
      dstKeys: [...new Set(dsts.map((d) => d.key))],
      self: dsts.length > 0 && dsts.every((d) => d.kind === 'self'),
      ...(rule.app ? { app: rule.app } : {}),
    };
    out.rules.push(compiled);
    for (const k of compiled.srcKeys) push(out.srcRulesByKey, k, compiled);
    if (compiled.self) out.selfRules.push(compiled);
    else for (const k of compiled.dstKeys) push(out.dstRulesByKey, k, compiled);
  }
  out.prefixKeys = [...prefixes].map(([key, range]) => ({ key, range }));
  out.keyBasis = keyBasis(out);
  return out;
}

/** Selectors by what they match, not where they are written (positions move with every edit). */
function approverBasis(list: ReadonlyArray<Located<Selector>>): string[] {
  return list.map(
    ({ value: s }) =>
      `${s.kind}|${s.kind === 'prefix' || s.kind === 'host' ? formatPrefixOrHost(s.prefix) : selectorKey(s).key}`,
  );
}

const sortedSets = (m: ReadonlyMap<string, ReadonlySet<string>>) =>
  [...m].map(([k, v]) => [k, [...v].sort()] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** What `nodeKeys` reads of a compiled policy, as one comparable string. */
function keyBasis(c: CompiledPolicy): string {
  const { policy } = c;
  return JSON.stringify([
    [...c.identityKeys].sort(),
    c.prefixKeys.map((p) => p.key).sort(),
    c.usesInternet,
    [...c.viaTags].sort(),
    sortedSets(policy.groupsOfUser),
    sortedSets(policy.groupsOfIdpGroup),
    policy.autoApprovers.routes.map((r) => [formatPrefixOrHost(r.prefix), approverBasis(r.approvers)]),
    approverBasis(policy.autoApprovers.exitNode),
  ]);
}
