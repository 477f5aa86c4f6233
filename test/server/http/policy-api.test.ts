/**
 * The policy questions of the admin API (check, preview, explain, diff) and its history
 * (versions, revert), over a real server with real agents joined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyView } from '../../../protocol/admin.ts';
import { AuditPage } from '../../../protocol/audit.ts';
import {
  CheckPolicyResponse,
  Explanation,
  PolicyDiff,
  PolicyPreview,
  PolicyVersionsPage,
} from '../../../protocol/policy-admin.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const POLICY = `{
  "groups": {"group:eng": ["alice@example.com"]},
  "tagOwners": {"tag:db": ["alice@example.com"]},
  "acls": [
    {"action": "accept", "src": ["group:eng"], "dst": ["tag:db:5432"]},
  ],
  "tests": [
    {"src": "alice@example.com", "accept": ["tag:db:5432"], "deny": ["tag:db:22"]},
  ],
}
`;
/** POLICY plus SSH from the group to the database servers. */
const WITH_SSH = POLICY.replace(
  '"dst": ["tag:db:5432"]},',
  '"dst": ["tag:db:5432"]},\n    {"action": "accept", "src": ["group:eng"], "dst": ["tag:db:22"]},',
).replace(', "deny": ["tag:db:22"]', '');

describe('policy API', () => {
  let ts: TestServer;
  const agents: TestAgent[] = [];
  let laptop: string;
  let db: string;

  async function ok<T>(schema: { parse(v: unknown): T }, method: string, path: string, body?: unknown): Promise<T> {
    const res = await ts.admin(method, path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return schema.parse(res.body);
  }

  beforeAll(async () => {
    ts = await startTestServer();
    await ts.setPolicy(POLICY);
    const a = new TestAgent(ts.url, 'laptop');
    const d = new TestAgent(ts.url, 'db1');
    agents.push(a, d);
    laptop = (await a.join(await ts.preAuthKey({ user: 'alice@example.com' }))).id;
    db = (
      await d.join(await ts.preAuthKey({ user: 'alice@example.com', tags: ['tag:db'] }), { advertiseTags: ['tag:db'] })
    ).id;
  });
  afterAll(async () => {
    for (const a of agents) a.stop();
    await ts?.stop();
  });

  it("check answers the embedded tests' results", async () => {
    const r = await ok(CheckPolicyResponse, 'POST', '/api/v1/policy/check', { policy: POLICY });
    expect(r.rules).toBe(1);
    expect(r.tests).toMatchObject({ passed: 2, failed: 0 });
    expect(r.tests!.results.map((t) => [t.dst, t.expect, t.passed])).toEqual([
      ['tag:db:5432', 'accept', true],
      ['tag:db:22', 'deny', true],
    ]);
  });

  describe('preview', () => {
    it('lists per node the peers and filter rules a proposed policy adds and removes', async () => {
      const p = await ok(PolicyPreview, 'POST', '/api/v1/policy/preview', { policy: WITH_SSH });
      expect(p.ok).toBe(true);
      const dbChange = p.nodes.find((n) => n.node.id === db);
      expect(dbChange?.filterAdded.flatMap((r) => r.dstPorts.map((d) => d.ports))).toContainEqual({
        first: 22,
        last: 22,
      });
      expect(dbChange?.filterRemoved).toEqual([]);
      // Peers do not change: the two already saw each other for 5432.
      expect(dbChange?.peersAdded).toEqual([]);
    });

    it('shows the problems of a broken policy at their line and column, with 200', async () => {
      const p = await ok(PolicyPreview, 'POST', '/api/v1/policy/preview', {
        policy: '{\n  "acls": [\n    {"action": "accept", "src": ["group:nope"], "dst": ["*:*"]},\n  ],\n}\n',
        fileName: 'draft.hujson',
      });
      expect(p.ok).toBe(false);
      expect(p.diagnostics[0]).toMatchObject({ code: 'policy.unknown_group', line: 3 });
      expect(p.diagnostics[0]!.at).toMatch(/^draft\.hujson:3:\d+$/);
      expect(p.nodes).toEqual([]);
    });

    it('reports a failing embedded test with its result, not as a rejection', async () => {
      const failing = POLICY.replace('"dst": ["tag:db:5432"]', '"dst": ["tag:db:5432,22"]');
      const p = await ok(PolicyPreview, 'POST', '/api/v1/policy/preview', { policy: failing });
      expect(p.ok).toBe(false);
      expect(p.tests).toMatchObject({ passed: 1, failed: 1 });
      expect(p.diagnostics.map((d) => d.code)).toEqual(['policy.test_failed']);
    });

    it('answers what a source (a group) may reach, with the rule that grants it', async () => {
      const p = await ok(PolicyPreview, 'POST', '/api/v1/policy/preview', { src: 'group:eng' });
      expect(p.reach?.sources.map((s) => s.id)).toEqual([laptop]);
      expect(p.reach?.entries).toHaveLength(1);
      expect(p.reach?.entries[0]).toMatchObject({ dst: { id: db }, ports: '5432', from: [{ id: laptop }] });
      expect(p.reach?.entries[0]!.rules[0]).toMatchObject({ origin: 'acl', line: 5 });
    });

    it('refuses a source that is neither a node nor a selector', async () => {
      const res = await ts.admin<any>('POST', '/api/v1/policy/preview', { src: 'group:' });
      expect([res.status, res.body.code, res.body.where]).toEqual([404, 'policy.unknown_node', 'body.src']);
    });
  });

  describe('explain', () => {
    it('accepts with the rule that allows it, as trellis policy eval does', async () => {
      const e = await ok(Explanation, 'POST', '/api/v1/policy/explain', { src: 'laptop', dst: 'db1', port: 5432 });
      expect(e).toMatchObject({ verdict: 'accept', proto: 'tcp', src: { id: laptop }, dst: { id: db } });
      expect(e.allowedBy[0]).toMatchObject({ line: 5, origin: 'acl' });
      expect(e.text).toMatch(/^accept: laptop -> db1:5432\/tcp/);
    });

    it('denies with why the nearest rule does not apply', async () => {
      const e = await ok(Explanation, 'POST', '/api/v1/policy/explain', { src: 'laptop', dst: 'db1', port: 22 });
      expect(e.verdict).toBe('deny');
      expect(e.reasons[0]).toContain('only on ports 5432');
    });

    it('asks a proposed policy instead of the active one', async () => {
      const e = await ok(Explanation, 'POST', '/api/v1/policy/explain', {
        src: 'laptop',
        dst: 'db1',
        port: 22,
        policy: WITH_SSH,
      });
      expect(e.verdict).toBe('accept');
      expect(e.policyVersion).toBeUndefined();
    });

    it('names an unknown node and a bad protocol where they are', async () => {
      const node = await ts.admin<any>('POST', '/api/v1/policy/explain', { src: 'nope', dst: 'db1', port: 1 });
      expect([node.status, node.body.code, node.body.where]).toEqual([404, 'policy.unknown_node', 'body.src']);
      const proto = await ts.admin<any>('POST', '/api/v1/policy/explain', {
        src: 'laptop',
        dst: 'db1',
        port: 1,
        proto: 'bogus',
      });
      expect([proto.status, proto.body.code, proto.body.where]).toEqual([400, 'policy.invalid_proto', 'body.proto']);
    });
  });

  describe('diff, versions and revert', () => {
    it('diffs the active policy against a proposed one', async () => {
      const d = await ok(PolicyDiff, 'POST', '/api/v1/policy/diff', { policy: WITH_SSH });
      expect(d.granted).toEqual([{ src: 'laptop', dst: 'db1', protos: 'icmp,tcp,udp,ipv6-icmp', ports: '22' }]);
      expect(d.revoked).toEqual([]);
      expect(d.from).toBe(d.baseVersion);
    });

    it('refuses a diff with both or neither of policy and to', async () => {
      const res = await ts.admin<any>('POST', '/api/v1/policy/diff', {});
      expect(res.status).toBe(400);
      expect(res.body.where).toBe('body.policy');
    });

    it('lists versions, shows one, reverts with optimistic concurrency, and audits the access change', async () => {
      const before = PolicyView.parse((await ts.admin('GET', '/api/v1/policy')).body);
      const applied = await ok(PolicyView, 'PUT', '/api/v1/policy', { policy: WITH_SSH, ifVersion: before.version });
      const page = await ok(PolicyVersionsPage, 'GET', '/api/v1/policy/versions?limit=2');
      expect(page.items.map((v) => [v.version, v.current])).toEqual([
        [applied.version, true],
        [before.version, false],
      ]);
      expect(page.nextCursor).toBe(String(before.version));
      const older = await ok(PolicyVersionsPage, 'GET', `/api/v1/policy/versions?cursor=${page.nextCursor}`);
      expect(older.items[0]!.version).toBe(before.version - 1);

      const shown = await ok(PolicyView, 'GET', `/api/v1/policy/versions/${before.version}`);
      expect(shown.text).toBe(before.text);
      const between = await ok(PolicyDiff, 'POST', '/api/v1/policy/diff', {
        from: before.version,
        to: applied.version,
      });
      expect(between.granted.map((c) => c.ports)).toEqual(['22']);

      const stale = await ts.admin<any>('POST', `/api/v1/policy/versions/${before.version}/revert`, {
        ifVersion: before.version,
      });
      expect([stale.status, stale.body.code]).toEqual([409, 'policy.version_conflict']);
      const reverted = await ok(PolicyView, 'POST', `/api/v1/policy/versions/${before.version}/revert`, {
        ifVersion: applied.version,
      });
      expect([reverted.version, reverted.text]).toEqual([applied.version + 1, before.text]);

      const audit = await ok(
        AuditPage,
        'GET',
        `/api/v1/audit?action=${encodeURIComponent('POST /api/v1/policy/versions')}`,
      );
      const event = audit.items.find((e) => e.outcome === 'success');
      expect(event?.message).toContain(
        `policy version ${applied.version} -> ${reverted.version}: 0 granted, 1 revoked`,
      );
      expect(event?.message).toContain('- laptop -> db1 22 (icmp,tcp,udp,ipv6-icmp)');
      const set = await ok(AuditPage, 'GET', `/api/v1/audit?action=${encodeURIComponent('PUT /api/v1/policy')}`);
      expect(set.items[0]?.message).toContain('+ laptop -> db1 22');
    });

    it('answers 404 for a version that does not exist, and does not audit questions', async () => {
      const res = await ts.admin<any>('GET', '/api/v1/policy/versions/999');
      expect([res.status, res.body.code]).toEqual([404, 'policy.unknown_version']);
      const audit = await ok(AuditPage, 'GET', `/api/v1/audit?action=${encodeURIComponent('POST /api/v1/policy/')}`);
      expect(audit.items.filter((e) => /preview|explain|diff|check/.test(e.code ?? ''))).toEqual([]);
    });
  });
});
