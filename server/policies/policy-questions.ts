/**
 * The questions the console and the CLI ask about a policy before (or instead of) applying it:
 * preview, explain and diff, each answered by policy/ over the live nodes, the same code that
 * `trellis policy eval|diff` runs on files. Nothing here changes anything.
 */
import {
  type Diagnostic,
  diffNetworksUpTo,
  explainTarget,
  explanation,
  nodeByRef,
  parsePolicy,
  type Policy,
  type PolicyNetwork,
  type PolicyNode,
  PolicyQueryError,
  reachFrom,
  ruleRef,
  sourceNodes,
  testResults,
  viewChanges,
} from '../../policy/index.ts';
import type {
  Explanation,
  PolicyDiagnosticView,
  PolicyDiff,
  PolicyPreview,
  PolicyTestsView,
} from '../../protocol/policy-admin.ts';
import { TrellisError } from '../errors.ts';
import type { PolicyService } from './policy-service.ts';

/** The live network as the policy sees it (the map engine's). */
export interface LiveNetwork {
  /** Prefix -> the node id of its elected primary router (server/routes/). */
  primaries(): ReadonlyMap<string, string>;
  /**
   * The live nodes under `policy`, sharing the live network's index instead of indexing every
   * node again: read it at once, before the live network changes.
   */
  under(policy: Policy): PolicyNetwork;
}

interface Proposed {
  policy?: string | undefined;
  fileName?: string | undefined;
}

const DEFAULT_FILE = 'policy.hujson';

export class PolicyQuestions {
  constructor(
    private readonly policies: PolicyService,
    private readonly live: LiveNetwork,
  ) {}

  /** POST /api/v1/policy/check: the policy is valid (else policy.invalid), with its tests' results. */
  check(text: string, fileName: string | undefined): { ok: true; rules: number; tests: PolicyTestsView } {
    const policy = this.checked(text, fileName);
    return { ok: true, rules: policy.rules.length, tests: testsView(policy) };
  }

  /** A proposed policy's problems, test results and per-node changes; with `src`, what it may reach. */
  preview(q: Proposed & { src?: string | undefined }): PolicyPreview {
    const active = this.policies.current();
    const base = { baseVersion: active.record.version, nodes: [] };
    let policy = active.policy;
    let tests: PolicyTestsView | undefined;
    if (q.policy !== undefined) {
      const parsed = parsePolicy(q.policy, q.fileName ?? DEFAULT_FILE, { runTests: false });
      if (!parsed.policy) return { ...base, ok: false, diagnostics: parsed.diagnostics.map(diagnosticView) };
      policy = parsed.policy;
      tests = testsView(policy);
      if (tests.failed > 0) {
        const failures = tests.results.filter((t) => !t.passed);
        const diagnostics = failures.map((t) => ({
          code: 'policy.test_failed',
          message: t.message!,
          at: t.at,
          line: t.line,
          column: t.column,
        }));
        return { ...base, ok: false, diagnostics, tests };
      }
    } else tests = testsView(policy);
    const after = this.live.under(policy);
    const changes = q.policy === undefined ? [] : viewChanges(this.live.under(active.policy), after);
    const answer: PolicyPreview = { ...base, ok: true, diagnostics: [], tests, nodes: changes };
    if (q.src !== undefined) {
      const sources = asked(() => sourceNodes(after, q.src!), 'body.src');
      answer.reach = {
        src: q.src,
        sources,
        entries: reachFrom(after, sources).map((e) => ({ ...e, rules: e.rules.map(ruleRef) })),
      };
    }
    return answer;
  }

  /** May `src` reach `dst:port`, and which rules decide it (the answer of `trellis policy eval`). */
  explain(q: Proposed & { src: string; dst: string; port: number; proto?: string | undefined }): Explanation {
    const proposed = q.policy !== undefined;
    const policy = proposed ? this.checked(q.policy!, q.fileName) : this.policies.current().policy;
    const net = this.live.under(policy);
    const nodes = net.nodes();
    const primaries = this.live.primaries();
    const src = findNode(nodes, q.src, 'body.src');
    const dst = explainTarget(nodes, q.dst);
    if (!dst) throw unknownNode(q.dst, 'body.dst');
    const answer = asked(() => explanation(net, { src, dst, port: q.port, proto: q.proto, primaries }), 'body.proto');
    return proposed ? answer : { ...answer, policyVersion: this.policies.current().record.version };
  }

  /** Access granted and revoked: version `from` (or the active one) against a proposed text or version `to`. */
  async diff(q: Proposed & { from?: number | undefined; to?: number | undefined }): Promise<PolicyDiff> {
    const active = this.policies.current();
    const fromVersion = q.from ?? active.record.version;
    const oldPolicy =
      q.from === undefined ? active.policy : this.stored((await this.policies.version(q.from)).text, q.from);
    const newPolicy =
      q.to !== undefined
        ? this.stored((await this.policies.version(q.to)).text, q.to)
        : this.checked(q.policy!, q.fileName);
    return {
      from: fromVersion,
      ...(q.to !== undefined && { to: q.to }),
      baseVersion: active.record.version,
      ...diffNetworksUpTo(this.live.under(oldPolicy), this.live.under(newPolicy), Infinity).diff,
    };
  }

  /**
   * The access change from the active policy to `next`, for the audit event of a change: up to
   * `limit` changes (the note shows no more), so that a change touching every node of a large
   * network is not held up listing millions of them.
   */
  changeFrom(previous: Policy, next: Policy, limit: number): ReturnType<typeof diffNetworksUpTo> {
    return diffNetworksUpTo(this.live.under(previous), this.live.under(next), limit);
  }

  private checked(text: string, fileName: string | undefined): Policy {
    return this.policies.check(text, fileName).policy;
  }

  /** A stored version, parsed without its tests (it passed them when it was applied). */
  private stored(text: string, version: number): Policy {
    const parsed = parsePolicy(text, `policy version ${version}`, { runTests: false });
    if (!parsed.policy)
      throw new TrellisError(
        'invalid',
        'policy.invalid',
        `stored policy version ${version} no longer loads on this server: ${parsed.diagnostics[0]?.message ?? ''}`,
      );
    return parsed.policy;
  }
}

function findNode(nodes: PolicyNode[], name: string, where: string): PolicyNode {
  const n = nodeByRef(nodes, name);
  if (!n) throw unknownNode(name, where);
  return n;
}

function unknownNode(name: string, where: string): TrellisError {
  return new TrellisError('not_found', 'policy.unknown_node', `no node "${name}" in the network`, { where });
}

/** A question policy/ cannot answer (an unknown node or protocol) is the caller's mistake. */
function asked<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof PolicyQueryError)) throw e;
    const kind = e.code === 'policy.unknown_node' ? 'not_found' : 'invalid';
    throw new TrellisError(kind, e.code, e.message, { where, cause: e });
  }
}

function diagnosticView(d: Diagnostic): PolicyDiagnosticView {
  return { code: d.code, message: d.message, at: `${d.file}:${d.line}:${d.column}`, line: d.line, column: d.column };
}

function testsView(policy: Policy): PolicyTestsView {
  const results = testResults(policy).map((r) => ({
    at: `${r.at.file}:${r.at.line}:${r.at.column}`,
    line: r.at.line,
    column: r.at.column,
    src: r.src,
    dst: r.dst,
    expect: r.expect,
    passed: r.passed,
    ...(r.message !== undefined && { message: r.message }),
  }));
  const failed = results.filter((r) => !r.passed).length;
  return { passed: results.length - failed, failed, results };
}
