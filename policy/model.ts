/**
 * The checked, resolved form of a policy file: what `parsePolicy` returns and every other part
 * of `policy/` reads. Every element keeps the position it came from, for diagnostics and for
 * `explain`. Plain data: build it with `parsePolicy`, never by hand.
 */
import type { Position } from './diagnostics.ts';
import type { Prefix } from '../protocol/ip/prefix.ts';

export type Autogroup = 'member' | 'tagged' | 'self' | 'internet' | 'danger-all';

export type Selector =
  | { kind: 'any' } // `*`
  | { kind: 'prefix'; text: string; prefix: Prefix } // an IP or CIDR literal
  | { kind: 'host'; name: string; text: string; prefix: Prefix } // a `hosts` alias, resolved
  | { kind: 'user'; email: string }
  | { kind: 'group'; name: string } // `group:x`, defined in `groups`
  | { kind: 'tag'; name: string } // `tag:x`, defined in `tagOwners`
  | { kind: 'autogroup'; name: Autogroup };

export interface Located<T> {
  value: T;
  at: Position;
}

export interface PortRange {
  first: number;
  last: number;
}

export interface RuleDestination {
  selector: Located<Selector>;
  ports: PortRange[];
}

/**
 * One rule of access, from an `acls` entry or one protocol of a `grants` entry. Grants with
 * several `ip` protocols become several rules with the same position.
 */
export interface Rule {
  index: number;
  origin: 'acl' | 'grant';
  at: Position;
  src: Array<Located<Selector>>;
  dst: RuleDestination[];
  /** IANA protocol numbers; the default set when the policy names none. */
  protos: number[];
  /** Application capabilities (grants' `app`): no packets by themselves, but the two sides become peers. */
  app?: Record<string, unknown[]>;
  /**
   * A grant's `via`: the destinations are reached only through subnet routers or exit nodes with
   * one of these tags, so only those routers receive the rule, and the sources route the
   * destinations to one of them.
   */
  via?: string[];
}

export interface GroupDefinition {
  name: string;
  at: Position;
  users: string[];
  /** `idp:NAME` members: users whose identity-provider groups claim holds NAME. */
  idpGroups: string[];
  /** Nested groups (a Trellis extension; cycles are rejected). */
  groups: string[];
}

export interface TagDefinition {
  name: string;
  at: Position;
  owners: Array<Located<Selector>>;
}

export interface HostDefinition {
  name: string;
  at: Position;
  text: string;
  prefix: Prefix;
}

interface RouteApprover {
  text: string;
  prefix: Prefix;
  at: Position;
  approvers: Array<Located<Selector>>;
}

export interface AutoApprovers {
  routes: RouteApprover[];
  exitNode: Array<Located<Selector>>;
}

export interface TestDestination {
  selector: Located<Selector>;
  port: number;
  text: string;
}

export interface PolicyTest {
  at: Position;
  src: Located<Selector>;
  protos: number[];
  accept: TestDestination[];
  deny: TestDestination[];
}

export type WorkloadMatch =
  | { kind: 'spiffe'; pattern: string; trustDomain: string; segments: string[] }
  | { kind: 'kubernetes'; cluster: string; namespace: string; serviceAccount: string };

export interface WorkloadMapping {
  at: Position;
  match: WorkloadMatch;
  tags: string[];
}

export interface Policy {
  file: string;
  text: string;
  groups: Map<string, GroupDefinition>;
  tagOwners: Map<string, TagDefinition>;
  hosts: Map<string, HostDefinition>;
  rules: Rule[];
  autoApprovers: AutoApprovers;
  tests: PolicyTest[];
  workloads: WorkloadMapping[];
  /** Derived: the groups (nested ones included) that list each user email directly or inside. */
  groupsOfUser: Map<string, Set<string>>;
  /** Derived: the groups (nested ones included) that each identity-provider group belongs to. */
  groupsOfIdpGroup: Map<string, Set<string>>;
}
