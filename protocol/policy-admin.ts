import { z } from 'zod';
import { FilterRule } from './filter.ts';

/**
 * The admin API's questions about the policy and its history (`/api/v1/policy/...`): what a
 * proposed policy would change (preview), why A can or cannot reach B (explain), who gains and
 * loses what (diff), the versions and reverting to one. Times are ISO 8601; positions are
 * 1-based `file:line:col` with `line` and `column` also given as numbers for an editor.
 */
const Time = z.string().datetime();
const PolicyText = z.string().max(4 << 20);
/** As in SetPolicyRequest: printable text on one line, echoed into messages. */
const FileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}\p{Zl}\p{Zp}]+$/u, 'must be printable text on one line');
const Version = z.number().int().positive();

/** Where something is in the policy file. */
const Located = {
  /** `file:line:col`. */
  at: z.string(),
  line: z.number().int().positive(),
  column: z.number().int().positive(),
};

/** A problem in a policy file (policy/diagnostics.ts). */
export const PolicyDiagnosticView = z.object({ code: z.string(), message: z.string(), ...Located });
export type PolicyDiagnosticView = z.infer<typeof PolicyDiagnosticView>;

/** An ACL or grant of the policy, as written (shortened: `src -> dst:ports`). */
export const RuleRef = z.object({ ...Located, origin: z.enum(['acl', 'grant']), summary: z.string() });
export type RuleRef = z.infer<typeof RuleRef>;

/** One assertion of the policy's own `tests` section: a source that should (not) reach a destination. */
export const PolicyTestResult = z.object({
  ...Located,
  src: z.string(),
  /** `HOST:PORT` as written. */
  dst: z.string(),
  expect: z.enum(['accept', 'deny']),
  passed: z.boolean(),
  /** Why it failed, for a person. */
  message: z.string().optional(),
});
export type PolicyTestResult = z.infer<typeof PolicyTestResult>;

export const PolicyTestsView = z.object({
  passed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  results: z.array(PolicyTestResult),
});
export type PolicyTestsView = z.infer<typeof PolicyTestsView>;

/** `POST /api/v1/policy/check`: the policy is valid (else 400 `policy.invalid` with every problem in `details`). */
export const CheckPolicyResponse = z.object({
  ok: z.literal(true),
  /** ACLs and grants in the file. */
  rules: z.number().int().nonnegative().optional(),
  /** Absent from servers before the console's policy endpoints. */
  tests: PolicyTestsView.optional(),
});

const NodeRef = z.object({ id: z.string(), name: z.string() });
export type NodeRef = z.infer<typeof NodeRef>;

/** A node whose peers or inbound filter the proposed policy changes. */
export const NodeChange = z.object({
  node: NodeRef,
  peersAdded: z.array(NodeRef),
  peersRemoved: z.array(NodeRef),
  filterAdded: z.array(FilterRule),
  filterRemoved: z.array(FilterRule),
});
export type NodeChange = z.infer<typeof NodeChange>;

/**
 * A source for preview's `src`: a node (name or id), a user's email, `group:NAME`, `tag:NAME`,
 * `autogroup:member`, `autogroup:tagged` or `*`.
 */
const SourceSelector = z.string().min(1).max(320);

/** What a source may reach on one destination node, and the rules that grant it. */
export const ReachEntry = z.object({
  dst: NodeRef,
  /** The destination's addresses and routes the access applies to (`100.64.0.2`, `10.1.0.0/16`, `*`). */
  addresses: z.array(z.string()),
  /** `*`, `22`, `80,443`, `8000-8100`. */
  ports: z.string(),
  /** Protocol names: `tcp,udp,icmp,ipv6-icmp`. */
  protos: z.string(),
  rules: z.array(RuleRef),
  /** The source's nodes that have this access (all of them when `src` is one node). */
  from: z.array(NodeRef),
});
export type ReachEntry = z.infer<typeof ReachEntry>;

export const PreviewPolicyRequest = z.strictObject({
  /** The proposed policy; absent: the active one (to ask only for `src`'s reach). */
  policy: PolicyText.optional(),
  fileName: FileName.optional(),
  /** Also answer everything this source may reach under the (proposed) policy, and why. */
  src: SourceSelector.optional(),
});

/**
 * `POST /api/v1/policy/preview` (scope `read`): a proposed policy checked and compiled against
 * the live nodes without applying it. A policy with problems answers 200 with `ok: false` and
 * every diagnostic at its line and column (an editor's question, not a failed request).
 */
export const PolicyPreview = z.object({
  ok: z.boolean(),
  /** The active policy's version the preview compares against: pass it as `ifVersion` to apply. */
  baseVersion: z.number().int().nonnegative(),
  diagnostics: z.array(PolicyDiagnosticView),
  /** The embedded tests' results; absent when the file does not load far enough to run them. */
  tests: PolicyTestsView.optional(),
  /** Nodes whose peers or filter would change, by name (empty when nothing changes or `ok` is false). */
  nodes: z.array(NodeChange),
  /** With `src`: the source's nodes and what they may reach. */
  reach: z
    .object({
      src: z.string(),
      sources: z.array(NodeRef),
      entries: z.array(ReachEntry),
    })
    .optional(),
});
export type PolicyPreview = z.infer<typeof PolicyPreview>;

export const ExplainRequest = z.strictObject({
  /** The connecting node: name or id. */
  src: z.string().min(1).max(253),
  /**
   * The node connected to (name or id), or an IP address: one inside an approved subnet route
   * (through its primary router) or on the internet (through an exit node the source may use).
   */
  dst: z.string().min(1).max(253),
  port: z.number().int().min(0).max(65535),
  /** A protocol name or number; `tcp` when absent. */
  proto: z.string().min(1).max(20).optional(),
  /** Ask of this proposed policy instead of the active one. */
  policy: PolicyText.optional(),
  fileName: FileName.optional(),
});

/** `POST /api/v1/policy/explain` (scope `read`): the same verdict as `trellis policy eval`, and why. */
export const Explanation = z.object({
  verdict: z.enum(['accept', 'deny']),
  src: NodeRef,
  /** For an address: the address as both id and name. */
  dst: NodeRef,
  port: z.number().int(),
  proto: z.string(),
  /** For an address: the router (subnet route) or exit node that carries it, and its prefix. */
  via: z.object({ kind: z.enum(['subnet', 'exit']), router: NodeRef, prefix: z.string() }).optional(),
  /** The rules that allow it (empty when denied). */
  allowedBy: z.array(RuleRef),
  /** For a denial: why each nearby rule does not apply, each starting with its `file:line:col`. */
  reasons: z.array(z.string()),
  /** The whole answer as `trellis policy eval` prints it. */
  text: z.string(),
  /** The active policy's version, when the question was asked of it. */
  policyVersion: z.number().int().optional(),
});
export type Explanation = z.infer<typeof Explanation>;

export const DiffPolicyRequest = z
  .strictObject({
    /** The proposed policy (compared with version `from`, or the active one). */
    policy: PolicyText.optional(),
    fileName: FileName.optional(),
    /** The old side: this version; absent: the active one. */
    from: Version.optional(),
    /** The new side: this version (instead of `policy`). */
    to: Version.optional(),
  })
  .refine((b) => (b.policy === undefined) !== (b.to === undefined), {
    message: 'give either policy (the proposed text) or to (a version), not both or neither',
    path: ['policy'],
  });

const AccessChange = z.object({ src: z.string(), dst: z.string(), protos: z.string(), ports: z.string() });

/** `POST /api/v1/policy/diff` (scope `read`): access granted and revoked, per (source node, destination node). */
export const PolicyDiff = z.object({
  /** The old side's version. */
  from: z.number().int().nonnegative(),
  /** The new side's version; absent for a proposed policy. */
  to: z.number().int().optional(),
  /** The active version when asked: pass it as `ifVersion` to apply the proposed policy. */
  baseVersion: z.number().int().nonnegative(),
  granted: z.array(AccessChange),
  revoked: z.array(AccessChange),
});
export type PolicyDiff = z.infer<typeof PolicyDiff>;

/** One stored version, without its text (`GET /api/v1/policy/versions/{n}` has it). */
export const PolicyVersionView = z.object({
  version: z.number().int(),
  author: z.string(),
  createdAt: Time,
  starter: z.boolean(),
  /** The version in force. */
  current: z.boolean(),
  /** Size of the text in bytes. */
  size: z.number().int().nonnegative(),
});
export type PolicyVersionView = z.infer<typeof PolicyVersionView>;

export const PolicyVersionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** `nextCursor` of the previous page: versions older than this one. */
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'must be the nextCursor of a previous page')
    .optional(),
});

/** `GET /api/v1/policy/versions` (scope `read`): newest first, a page at a time. */
export const PolicyVersionsPage = z.object({
  items: z.array(PolicyVersionView),
  nextCursor: z.string().optional(),
});
export type PolicyVersionsPage = z.infer<typeof PolicyVersionsPage>;

/** `POST /api/v1/policy/versions/{n}/revert` (scope `policy`): version n's text becomes a new version. */
export const RevertPolicyRequest = z.strictObject({
  /** Optimistic concurrency: refused with 409 `policy.version_conflict` if the active version is another. */
  ifVersion: z.number().int().nonnegative().optional(),
});
