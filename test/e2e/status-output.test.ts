import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { Lab } from './harness/lab.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { ServerHost } from './mesh/server-host.ts';

/**
 * What `trellis up` and `trellis status` tell a person, from a real agent: whether the routes
 * the node advertises are approved or still wait for an administrator, and the server's
 * starter-policy warning, on a line of its own, for exactly as long as the starter policy runs
 * (also across an agent restart, which resumes the map stream from its saved map).
 */
const POLICY = `{ "tagOwners": { "tag:n": [] }, "acls": [{ "action": "accept", "src": ["tag:n"], "dst": ["tag:n:*"] }] }`;
const WARNING = /^warning: this server runs the allow-all starter policy.*$/m;

describeWith([isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables')], 'what up and status say', () => {
  let lab: Lab;
  let server: ServerHost;
  let a: AgentHost;
  const status = async () => (await a.cli(['status'])).stdout;

  beforeAll(async () => {
    lab = await Lab.create();
    [server, a] = await Promise.all([ServerHost.start(lab), AgentHost.start(lab, 'a')]);
  }, 60_000);
  afterAll(async () => {
    await lab?.cleanup();
    server?.dispose();
    a?.dispose();
  });

  it('says which advertised routes wait for approval, and how to approve them', async () => {
    const key = await server.preAuthKey({ tags: ['tag:n'] });
    const up = await a.cli([
      'up',
      '--server',
      server.url,
      '--auth-key',
      key,
      '--hostname',
      'a',
      '--advertise-routes',
      '10.9.0.0/24,10.8.0.0/24',
    ]);
    expect(up.exitCode).toBe(0);
    const id = (await a.status()).self!.id;
    const waiting = `routes: 10.8.0.0/24 awaiting approval, 10.9.0.0/24 awaiting approval (an administrator approves with: trellis-server nodes approve-routes ${id} 10.8.0.0/24 10.9.0.0/24)`;
    expect(up.stdout.split('\n'), up.stdout).toContain(waiting);
    expect(up.stdout).toMatch(WARNING);

    expect((await server.admin('POST', `/api/v1/nodes/${id}/routes`, { routes: ['10.8.0.0/24'] })).status).toBe(200);
    // Once approved, a route shows its role in the election and why.
    await a.until((s) => s.self?.routes?.some((r) => r.approved && r.role === 'primary') === true, 'the election');
    const after = await status();
    // Why it is primary depends on when the election last ran ("its only healthy router", "stays primary").
    const line = after.split('\n').find((l) => l.startsWith('routes: '));
    expect(line, after).toMatch(/^routes: 10\.8\.0\.0\/24 primary \(a [^)]+\), 10\.9\.0\.0\/24 awaiting approval /);
    expect(line).toContain(
      `(an administrator approves with: trellis-server nodes approve-routes ${id} 10.8.0.0/24 10.9.0.0/24)`,
    );
  });

  it('shows the starter-policy warning on its own line while it runs, also after an agent restart, and not after a policy is set', async () => {
    const before = await status();
    expect(before).toMatch(WARNING);
    expect(before).toMatch(/^no peers$/m);
    await a.restart();
    await a.until((s) => s.state === 'running' && s.connected, 'running again');
    expect(await status()).toMatch(WARNING);

    await server.setPolicy(POLICY);
    await a.until((s) => s.policyWarning === undefined, 'the warning withdrawn');
    expect(await status()).not.toContain('warning');
    await a.restart();
    await a.until((s) => s.state === 'running' && s.connected, 'running again');
    expect(await status()).not.toContain('warning');
  });
});
