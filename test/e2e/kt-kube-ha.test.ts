import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuditPage } from '../../protocol/audit.ts';
import { kubeconfigYaml } from '../client/kube-proxy/loopback-proxy.ts';
import { describeWith, hasCommand, isRoot } from '../support/prerequisites.ts';
import { createTestCa, issueTestCert } from '../support/test-ca.ts';
import { Lab } from './harness/lab.ts';
import type { BackgroundProcess } from './harness/process.ts';
import { AgentHost } from './mesh/agent-host.ts';
import { REPO_ROOT, TRELLIS_BIN } from './mesh/repo.ts';
import { SERVER_PORT, ServerHost } from './mesh/server-host.ts';

/**
 * The HA Kubernetes API proxy, end to end, as a person uses it:
 *  - the coordination server with a mesh service `kube` served by tag:k8s, and an OpenID
 *    provider (oidc-provider) on a host of its own; alice signs in there (`trellis up --login`,
 *    her browser being a plain-HTTP form filler in her namespace), the provider says she is in
 *    its group `sre`, and the policy grants group:sre (idp:sre) the Kubernetes capability;
 *  - a private cluster network that only the two replicas reach, with the STAND-IN API server
 *    on it (test/support/kube-apiserver: no Kubernetes API server is packaged for this machine);
 *  - two replicas `proxy-a`, `proxy-b`: an agent each, joined with `--serve kube=tcp:443`, and
 *    `trellis kube-proxy` with its default certificate, issued by the mesh CA for the replica's
 *    name and `kube`;
 *  - alice's kubeconfig written by `trellis kubeconfig kube` (the mesh CA embedded, no
 *    credential), and the real kubectl resolving kube.<domain> through the agent's mesh DNS.
 * A replica is killed between two commands, twice: its proxy alone (the health port stops
 * answering), then the whole node (agent, WireGuard, proxy); the next command works each time.
 */
const DOMAIN = 'mesh.trellis.internal';
const POLICY = `{
  "groups": { "group:sre": ["idp:sre"] },
  "tagOwners": { "tag:k8s": [] },
  "grants": [
    { "src": ["group:sre"], "dst": ["tag:k8s"], "ip": ["tcp:443"],
      "app": { "trellis.dev/cap/kubernetes": [{ "impersonate": { "groups": ["sre-admins"] } }] } },
  ],
}`;
const PROXY_TOKEN = 'kt-proxy-service-account-token';
const IDP_PORT = 9000;

interface Replica {
  agent: AgentHost;
  proxy: BackgroundProcess;
}

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables'), hasCommand('kubectl', 'kubernetes-client')],
  'kubectl as the signed-in person through two kube-proxy replicas behind one mesh name',
  () => {
    let dir: string;
    let lab: Lab;
    let server: ServerHost;
    let alice: AgentHost;
    const replicas = new Map<string, Replica>();
    const resolvConfs: string[] = [];
    const kubeconfig = () => join(dir, 'alice.kubeconfig');
    const seen = () =>
      readFileSync(join(dir, 'seen.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { user: string; groups: string[] });
    let calls = 0;
    const kubectl = (args: string[], timeoutMs = 60_000) =>
      alice.host
        .exec('kubectl', ['--kubeconfig', kubeconfig(), '--cache-dir', join(dir, `cache-${calls++}`), ...args], {
          timeoutMs,
        })
        .then(
          (r) => ({ ...r, exitCode: 0 }),
          (err: { stdout?: string; stderr?: string; exitCode?: number | null }) => ({
            stdout: err.stdout ?? '',
            stderr: err.stderr ?? '',
            exitCode: err.exitCode ?? -1,
          }),
        );
    /** The replica peers reach the service on, as the server's election says. */
    const primary = async (): Promise<string> => {
      for (const [name, r] of replicas) {
        const s = await r.agent.status().catch(() => undefined);
        if (s?.self?.services?.[0]?.state === 'primary') return name;
      }
      return '';
    };
    const audited = async () =>
      AuditPage.parse((await server.admin('GET', '/api/v1/audit?kind=kube.request&limit=1000')).body).items.filter(
        (e) => e.actor === 'alice@example.com',
      );
    /**
     * A proxy sends its audit events in batches every half second: those of a replica killed
     * within that time are only in its own log. Wait for the server to have them first.
     */
    const auditCaughtUp = async () => {
      const deadline = Date.now() + 10_000;
      const want = seen().filter((s) => s.user === 'alice@example.com').length;
      while ((await audited()).length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    };
    const startProxy = async (agent: AgentHost): Promise<BackgroundProcess> => {
      const p = agent.host.spawn('node', [
        TRELLIS_BIN,
        'kube-proxy',
        '--state-dir',
        agent.stateDir,
        '--kubeconfig',
        join(dir, 'upstream.kubeconfig'),
      ]);
      await p.waitFor(/kube-proxy ready/, 60_000);
      return p;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-kt-'));
      lab = await Lab.create({ tag: 'kt' });
      server = await ServerHost.prepare(lab);
      const serverUrl = `http://${server.host.address}:${SERVER_PORT}`;
      const callback = `${serverUrl}/login/callback`;

      const idpHost = await lab.addHost('idp');
      const idp = idpHost.spawn('node', [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/e2e/mesh/idp-process.ts'),
        idpHost.address,
        String(IDP_PORT),
        callback,
        JSON.stringify({ alice: { email: 'alice@example.com', email_verified: true, name: 'Alice', groups: ['sre'] } }),
      ]);
      await idp.waitFor(/test IdP ready/, 30_000);
      const [, issuer, clientId, clientSecret] = /test IdP ready (\S+) (\S+) (\S+)/.exec(idp.output)!;
      writeFileSync(
        join(dir, 'trellis.yaml'),
        [
          `publicUrl: ${serverUrl}`,
          'network:',
          `  domain: ${DOMAIN}`,
          'services:',
          '  - name: kube',
          '    servedBy: [tag:k8s]',
          'oidc:',
          '  providers:',
          '    - name: test-idp',
          `      issuer: ${issuer}`,
          `      clientId: ${clientId}`,
          `      clientSecret: ${clientSecret}`,
          '      scopes: [openid, email, profile, groups]',
          '      allowInsecureIssuer: true',
          '',
        ].join('\n'),
      );
      await server.start(['--config', join(dir, 'trellis.yaml')]);
      await server.setPolicy(POLICY);

      // The cluster's own network: the API server and the replicas' second interface, nobody else.
      const cluster = await lab.addSegment();
      const api = await lab.addHost('api', { segment: cluster });
      const ca = createTestCa('kt cluster CA');
      const apiCert = issueTestCert(ca, { ips: [api.address] });
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text, { mode: 0o600 });
        return join(dir, name);
      };
      file('cluster-ca.crt', ca.cert);
      writeFileSync(join(dir, 'seen.jsonl'), '');
      file(
        'apiserver.json',
        JSON.stringify({
          host: api.address,
          port: 6443,
          certFile: file('api.crt', apiCert.cert),
          keyFile: file('api.key', apiCert.key),
          seenFile: join(dir, 'seen.jsonl'),
          accounts: {
            [PROXY_TOKEN]: { user: 'system:serviceaccount:trellis:kube-proxy', groups: [], mayImpersonate: true },
          },
          rules: [{ group: 'sre-admins', verbs: ['get', 'list', 'watch'], resources: ['pods', 'namespaces'] }],
        }),
      );
      const apiServer = api.spawn('node', [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/support/kube-apiserver/main.ts'),
        join(dir, 'apiserver.json'),
      ]);
      await apiServer.waitFor(/stand-in API server ready/, 30_000);
      file(
        'upstream.kubeconfig',
        kubeconfigYaml(`https://${api.address}:6443`, join(dir, 'cluster-ca.crt'), { token: PROXY_TOKEN }),
      );

      const key = await server.preAuthKey({ tags: ['tag:k8s'] });
      for (const [name, label] of [
        ['proxy-a', 'pa'],
        ['proxy-b', 'pb'],
      ] as const) {
        // Short labels: interface names hold 15 characters, the lab's prefix included.
        const agent = await AgentHost.start(lab, label);
        await lab.attach(agent.host.netns, cluster, 'eth1', `${cluster.net}.${cluster.nextHost++}`);
        const up = await agent.cli([
          'up',
          '--server',
          serverUrl,
          '--auth-key',
          key,
          '--hostname',
          name,
          '--advertise-tags',
          'tag:k8s',
          '--serve',
          'kube=tcp:443',
        ]);
        expect(up.exitCode, up.stderr + up.stdout).toBe(0);
        replicas.set(name, { agent, proxy: await startProxy(agent) });
      }

      alice = await AgentHost.start(lab, 'al');
      mkdirSync(`/etc/netns/${alice.host.netns}`, { recursive: true });
      writeFileSync(`/etc/netns/${alice.host.netns}/resolv.conf`, 'nameserver 100.100.100.100\n');
      resolvConfs.push(`/etc/netns/${alice.host.netns}`);
    }, 240_000);
    afterAll(async () => {
      await lab?.cleanup();
      server?.dispose();
      for (const r of replicas.values()) r.agent.dispose();
      alice?.dispose();
      for (const d of resolvConfs) rmSync(d, { recursive: true, force: true });
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("serves kube from both replicas, one of them the election's primary", async () => {
      for (const [name, r] of replicas) {
        const s = await r.agent.until(
          (x) => ['primary', 'standby'].includes(x.self?.services?.[0]?.state ?? ''),
          `${name} serving kube`,
          20_000,
        );
        expect(s.self!.services![0]).toMatchObject({
          name: 'kube',
          addresses: [expect.stringMatching(/^100\./), expect.any(String)],
        });
        const status = await r.agent.cli(['status']);
        expect(status.stdout).toMatch(/serving: kube (primary|standby) at 100\./);
      }
      expect(['proxy-a', 'proxy-b']).toContain(await primary());
    }, 30_000);

    it('signs alice in through the OpenID provider, and writes her a kubeconfig for kube with no credential', async () => {
      const up = alice.host.spawn('node', [
        TRELLIS_BIN,
        'up',
        '--login',
        '--server',
        server.url,
        '--hostname',
        'alice',
        '--state-dir',
        alice.stateDir,
      ]);
      await up.waitFor(/To sign in, open (\S+)/, 30_000);
      const url = /To sign in, open (\S+)/.exec(up.output)![1]!;
      const browser = await alice.host.exec(
        'node',
        [
          '--import',
          'tsx',
          join(REPO_ROOT, 'test/e2e/mesh/person-browser.ts'),
          url,
          'alice',
          `${server.url}/login/callback`,
        ],
        { timeoutMs: 60_000 },
      );
      expect(browser.stdout).toContain('signed in');
      await up.waitFor(/signed in as alice@example\.com/, 30_000);
      await alice.until((s) => (s.services ?? []).some((x) => x.name === 'kube'), 'the mesh service kube in the map');

      const written = await alice.cli(['kubeconfig', 'kube', '--kubeconfig', kubeconfig()]);
      expect(written.exitCode, written.stderr).toBe(0);
      expect(written.stdout).toContain(`context "kube.${DOMAIN}"`);
      const text = readFileSync(kubeconfig(), 'utf8');
      expect(text).toContain(`server: https://kube.${DOMAIN}\n`);
      expect(text).toContain('certificate-authority-data:');
      expect(text).not.toContain(PROXY_TOKEN);
    }, 120_000);

    it('kubectl auth whoami shows her SSO login and the groups her grant names, verified against the mesh CA', async () => {
      const r = await kubectl(['auth', 'whoami']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Username\s+alice@example\.com/);
      expect(r.stdout).toMatch(/Groups\s+\[sre-admins system:authenticated\]/);
      expect(seen().filter((s) => s.user === 'alice@example.com').length).toBeGreaterThan(0);
    }, 90_000);

    it("goes on working when the primary replica's proxy is killed between two commands", async () => {
      expect((await kubectl(['get', 'pods'])).exitCode).toBe(0);
      const victim = await primary();
      expect(victim).not.toBe('');
      await auditCaughtUp();
      process.kill(replicas.get(victim)!.proxy.pid!, 'SIGKILL');
      try {
        const r = await kubectl(['get', 'pods']);
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/web-1\s+1\/1\s+Running/);
        expect(await primary()).not.toBe(victim);
      } finally {
        // Back again, it stays a standby (the election does not take the service back).
        replicas.get(victim)!.proxy = await startProxy(replicas.get(victim)!.agent);
      }
    }, 120_000);

    it('goes on working when the whole primary replica dies between two commands', async () => {
      const before = await kubectl(['get', 'pods']);
      expect(before.exitCode, before.stderr).toBe(0);
      const victim = await primary();
      await auditCaughtUp();
      await replicas.get(victim)!.agent.crash();
      process.kill(replicas.get(victim)!.proxy.pid!, 'SIGKILL');
      const r = await kubectl(['auth', 'whoami']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Username\s+alice@example\.com/);
    }, 120_000);

    it("has every call in the server's audit trail, reported by the replica that carried it", async () => {
      const carriers = (items: AuditPage['items']) =>
        [...new Set(items.map((e) => /kube-proxy on (\S+):/.exec(e.message)?.[1]))].sort();
      await auditCaughtUp();
      const items = await audited();
      expect(carriers(items)).toEqual(['proxy-a', 'proxy-b']);
      expect(items.length).toBeGreaterThanOrEqual(seen().filter((s) => s.user === 'alice@example.com').length);
    }, 30_000);
  },
);
