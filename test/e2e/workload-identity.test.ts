import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { authority, signToken, spiffeBundle } from '../support/workload-tokens.ts';
import { Lab } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * A workload joins the mesh the way a sidecar does: `trellis agent --server URL --token-file
 * PATH --credential spiffe-jwt`, no `trellis up`. The server trusts one SPIFFE trust domain
 * (a bundle file) and its policy maps the workload's SPIFFE ID to a tag; a second node, joined
 * with a pre-auth key, is its peer. The token file is then replaced, as spiffe-helper does, and
 * the agent registers again on its own: the same node with the same addresses, a later expiry.
 */
const ID = 'spiffe://prod.example.org/ns/payments/sa/api';
const POLICY = `{
  "tagOwners": { "tag:payments": [], "tag:peer": [], "tag:unused": [] },
  "workloads": [
    { "spiffe": "spiffe://prod.example.org/ns/payments/*", "tags": ["tag:payments"] },
    { "spiffe": "spiffe://prod.example.org/ns/other/*", "tags": ["tag:unused"] },
  ],
  "acls": [ { "action": "accept", "src": ["*"], "dst": ["*:*"] } ],
}`;
const nowS = () => Math.floor(Date.now() / 1000);

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')],
  'a workload joining with a SPIFFE JWT-SVID from a file',
  () => {
    const ca = authority('prod-1');
    let dir: string;
    let lab: Lab;
    let server: ServerHost;
    let peer: AgentHost;
    let workload: AgentHost;
    const tokenPath = () => join(dir, 'tokens', 'svid.jwt');
    const writeToken = (exp: number) => {
      writeFileSync(`${tokenPath()}.tmp`, signToken(ca, { sub: ID, aud: 'trellis', exp }));
      renameSync(`${tokenPath()}.tmp`, tokenPath());
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-spiffe-'));
      writeFileSync(join(dir, 'prod.json'), JSON.stringify(spiffeBundle([ca.jwk('jwt-svid')])));
      writeFileSync(
        join(dir, 'trellis.yaml'),
        [
          'spiffe:',
          '  audience: trellis',
          '  trustDomains:',
          '    - name: prod.example.org',
          `      bundleFile: ${join(dir, 'prod.json')}`,
          '',
        ].join('\n'),
      );
      mkdirSync(join(dir, 'tokens'));
      lab = await Lab.create();
      [server, peer] = await Promise.all([
        ServerHost.start(lab, ['--config', join(dir, 'trellis.yaml')]),
        AgentHost.start(lab, 'p'),
      ]);
      await server.setPolicy(POLICY);
    }, 90_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      peer?.dispose();
      workload?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('joins on start with exactly the tag its SPIFFE ID maps to, and reaches its peer', async () => {
      const key = await server.preAuthKey({ tags: ['tag:peer'] });
      const up = await peer.cli(['up', '--server', server.url, '--auth-key', key, '--hostname', 'p']);
      expect(up.exitCode, up.stderr).toBe(0);
      writeToken(nowS() + 600);
      workload = await AgentHost.start(lab, 'w', [
        '--server',
        server.url,
        '--token-file',
        tokenPath(),
        '--credential',
        'spiffe-jwt',
        '--hostname',
        'payments',
      ]);
      const s = await workload.until(
        (x) => x.state === 'running' && x.peers.length === 1,
        'joined with one peer',
        20_000,
      );
      expect(s.self).toMatchObject({ name: 'payments', tags: ['tag:payments'] });
      expect(s.self!.user).toBeUndefined();
      expect(s.workload).toMatchObject({ source: `token file ${tokenPath()}` });
      const p = await peer.until((x) => x.peers.some((q) => q.name === 'payments'), "the workload in the peer's map");
      expect(p.peers.find((q) => q.name === 'payments')!.tags).toEqual(['tag:payments']);
      expect(await workload.host.pingUntil(p.self!.ipv4)).toBe(true);
      const status = await workload.cli(['status']);
      expect(status.stdout).toContain(`token:  token file ${tokenPath()}`);
    }, 60_000);

    it('registers again when the token file is rotated, keeping its node and addresses', async () => {
      const before = await workload.status();
      const later = nowS() + 1800;
      writeToken(later);
      const after = await workload.until(
        (x) => x.keyExpiry === new Date(later * 1000).toISOString(),
        'the new expiry in status',
        15_000,
      );
      expect(after.self).toMatchObject({
        id: before.self!.id,
        ipv4: before.self!.ipv4,
        ipv6: before.self!.ipv6,
        tags: ['tag:payments'],
      });
      expect((await server.nodes()).filter((n) => n.name === 'payments')).toHaveLength(1);
      const peerIp = (await peer.status()).self!.ipv4;
      expect(await workload.host.pingUntil(peerIp)).toBe(true);
      expect(workload.output).toContain('registered again with a fresh workload token');
    }, 30_000);
  },
);
