import { CheckPolicyRequest, PolicyView, SetPolicyRequest } from '../../../protocol/admin.ts';
import {
  CheckPolicyResponse,
  DiffPolicyRequest,
  Explanation,
  ExplainRequest,
  PolicyDiff,
  PolicyPreview,
  PolicyVersionsPage,
  PolicyVersionsQuery,
  PreviewPolicyRequest,
  RevertPolicyRequest,
} from '../../../protocol/policy-admin.ts';
import { PolicyTopology } from '../../../protocol/policy-topology.ts';
import { isoTime } from '../../../protocol/time.ts';
import { invalid } from '../../errors.ts';
import type { NetmapEngine } from '../../netmap/engine.ts';
import { MAX_LINES, changeNote } from '../../policies/change-note.ts';
import type { PolicyQuestions } from '../../policies/policy-questions.ts';
import type { PolicyService } from '../../policies/policy-service.ts';
import type { PolicyRecord } from '../../store/records.ts';
import { actorOf, route, type Route } from '../route.ts';

interface PolicyDeps {
  policies: PolicyService;
  questions: PolicyQuestions;
  engine: NetmapEngine;
}

/** The policy, the questions asked of it (check, preview, explain, diff) and its history. */
export function policyRoutes(d: PolicyDeps): Route[] {
  const view = (record: PolicyRecord, current: boolean) => ({
    version: record.version,
    text: record.text,
    author: record.author,
    starter: record.starter,
    createdAt: isoTime(record.createdAt),
    ...(current && { warning: d.engine.policyWarning() }),
  });
  const activeView = () => view(d.policies.current().record, true);
  /** Applies a change and notes in its audit event the access it granted and revoked. */
  const change = async (apply: () => Promise<unknown>, note: (text: string) => void) => {
    const before = d.policies.current();
    await apply();
    const after = d.policies.current();
    // One more than the note shows, so the note knows there were more.
    const { diff, complete } = d.questions.changeFrom(before.policy, after.policy, MAX_LINES + 1);
    note(changeNote(before.record.version, after.record.version, diff, complete));
    return activeView();
  };
  const version = (text: string) => {
    const n = Number(text);
    if (!/^[1-9][0-9]{0,14}$/.test(text))
      throw invalid('request.invalid_field', `version "${text}" is not a version number`, 'path.version');
    return n;
  };
  return [
    route({
      method: 'get',
      path: '/api/v1/policy',
      summary: 'The active policy',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      response: PolicyView,
      handle: async () => activeView(),
    }),
    route({
      method: 'put',
      path: '/api/v1/policy',
      summary: 'Replace the policy (checked first; the old one stays on any failure)',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'policy' },
      body: SetPolicyRequest,
      response: PolicyView,
      handle: async ({ body, caller, auditNote }) =>
        change(() => d.policies.set(body.policy, actorOf(caller), body.ifVersion, body.fileName), auditNote),
    }),
    route({
      method: 'post',
      path: '/api/v1/policy/check',
      summary:
        "Check a policy without applying it (problems in 400 policy.invalid's details; the embedded tests' results)",
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      readOnly: true,
      body: CheckPolicyRequest,
      response: CheckPolicyResponse,
      handle: async ({ body }) => d.questions.check(body.policy, body.fileName),
    }),
    route({
      method: 'post',
      path: '/api/v1/policy/preview',
      summary:
        "What a proposed policy would change per node (peers, filter), its problems at their line and column, its tests' results; with src, everything src may reach and the rules that grant it",
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      readOnly: true,
      body: PreviewPolicyRequest,
      response: PolicyPreview,
      handle: async ({ body }) => d.questions.preview(body),
    }),
    route({
      method: 'post',
      path: '/api/v1/policy/explain',
      summary: 'May node src reach node dst on a port, and which rules decide it (the answer of trellis policy eval)',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      readOnly: true,
      body: ExplainRequest,
      response: Explanation,
      handle: async ({ body }) => d.questions.explain(body),
    }),
    route({
      method: 'post',
      path: '/api/v1/policy/diff',
      summary:
        'Access granted and revoked: the active policy (or version from) against a proposed one, or version from against version to',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      readOnly: true,
      body: DiffPolicyRequest,
      response: PolicyDiff,
      handle: async ({ body }) => d.questions.diff(body),
    }),
    route({
      method: 'get',
      path: '/api/v1/policy/versions',
      summary: 'The stored policy versions, newest first, with author and time',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      query: PolicyVersionsQuery,
      response: PolicyVersionsPage,
      handle: async ({ query }) => {
        const current = d.policies.current().record.version;
        const page = await d.policies.versions(
          query.limit,
          query.cursor === undefined ? undefined : Number(query.cursor),
        );
        const last = page.items[page.items.length - 1];
        return {
          items: page.items.map((r) => ({
            version: r.version,
            author: r.author,
            createdAt: isoTime(r.createdAt),
            starter: r.starter,
            current: r.version === current,
            size: Buffer.byteLength(r.text),
          })),
          ...(page.more && last && { nextCursor: String(last.version) }),
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/policy/versions/:version',
      summary: 'One stored policy version, with its text',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      response: PolicyView,
      handle: async ({ params }) => {
        const record = await d.policies.version(version(params.version!));
        return view(record, record.version === d.policies.current().record.version);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/policy/versions/:version/revert',
      summary:
        "Make a stored version's text the active policy again, as a new version (optimistic concurrency with ifVersion)",
      tag: 'policy',
      auth: { kind: 'admin', scope: 'policy' },
      body: RevertPolicyRequest,
      response: PolicyView,
      handle: async ({ params, body, caller, auditNote }) => {
        const n = version(params.version!);
        return change(() => d.policies.revert(n, actorOf(caller), body.ifVersion), auditNote);
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/policy/topology',
      summary: 'Every node as the policy sees it (identity, addresses, routes) and the mesh ranges',
      tag: 'policy',
      auth: { kind: 'admin', scope: 'read' },
      response: PolicyTopology,
      handle: async () => d.engine.policyTopology(),
    }),
  ];
}
