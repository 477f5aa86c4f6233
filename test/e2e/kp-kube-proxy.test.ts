import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { ServerHost } from './mesh/server-host.ts';

/**
 * kubectl to a private API server as yourself, end to end: the server in its namespace; a
 * tagged node `proxy` running its agent, the stand-in API server on its loopback (reachable from
 * nowhere else) and `trellis kube-proxy` on its mesh address; people's laptops (alice, granted
 * the Kubernetes capability with group devs; bob, who may reach the proxy but holds no grant)
 * running their agents and the real kubectl, whose kubeconfig holds no credential.
 * The people join with pre-auth keys owned by their user (what a sign-in gives a node: its
 * owner's login); the proxy sees only what the mesh tells it.
 */
const POLICY = `{
  "tagOwners": { "tag:k8s": [] },
  "grants": [
    { "src": ["alice@example.com"], "dst": ["tag:k8s"], "ip": ["tcp:443"],
      "app": { "trellis.dev/cap/kubernetes": [{ "impersonate": { "groups": ["devs"] } }] } },
    { "src": ["bob@example.com"], "dst": ["tag:k8s"], "ip": ["tcp:443"] },
  ],
}`;
const PROXY_TOKEN = 'e2e-proxy-service-account-token';
const POD_PORT = 18080;
const ADMIN_TOKEN = 'e2e-cluster-admin-token';

describeWith(
  [isRoot(), hasCommand('wireguard-go'), hasCommand('nft', 'nftables'), hasCommand('kubectl', 'kubernetes-client')],
  'kubectl through the mesh and trellis kube-proxy',
  () => {
    let dir: string;
    let lab: Lab;
    let server: ServerHost;
    let proxy: AgentHost;
    let alice: AgentHost;
    let bob: AgentHost;
    let kubeProxy: BackgroundProcess;
    let podPort: BackgroundProcess;
    const seen = () =>
      readFileSync(join(dir, 'seen.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(
          (l) => JSON.parse(l) as { user: string; groups: string[]; verb: string; resource: string; status: number },
        );
    const kubectlArgs = (on: AgentHost, args: string[]) => [
      '--kubeconfig',
      join(dir, 'kubectl.kubeconfig'),
      '--cache-dir',
      join(dir, `cache-${on.label}`),
      ...args,
    ];
    /** kubectl on a laptop; `env` (NAME=VALUE) through env(1), the harness's spawn takes none. */
    const kubectl = (on: AgentHost, args: string[], options: { input?: string; env?: string[] } = {}) =>
      on.host
        .exec('env', [...(options.env ?? []), 'kubectl', ...kubectlArgs(on, args)], {
          timeoutMs: 30_000,
          ...(options.input !== undefined && { input: options.input }),
        })
        .then(
          (r) => ({ ...r, exitCode: 0 }),
          (err: { stdout?: string; stderr?: string; exitCode?: number | null }) => ({
            stdout: err.stdout ?? '',
            stderr: err.stderr ?? '',
            exitCode: err.exitCode ?? -1,
          }),
        );

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'trellis-e2e-kp-'));
      lab = await Lab.create({ tag: 'kb' });
      [server, proxy, alice, bob] = await Promise.all([
        ServerHost.start(lab),
        AgentHost.start(lab, 'proxy'),
        AgentHost.start(lab, 'alice'),
        AgentHost.start(lab, 'bob'),
      ]);
      await server.setPolicy(POLICY);
      await proxy.up(server.url, await server.preAuthKey({ tags: ['tag:k8s'] }), { advertiseTags: ['tag:k8s'] });
      await alice.up(server.url, await server.preAuthKey({ user: 'alice@example.com' }));
      await bob.up(server.url, await server.preAuthKey({ user: 'bob@example.com' }));
      const proxyIp = await proxy.ipv4();
      for (const person of [alice, bob])
        await person.until((s) => s.peers.some((p) => p.name === 'proxy'), 'the proxy as a peer');

      const ca = createTestCa();
      const apiCert = issueTestCert(ca, { ips: ['127.0.0.1'] });
      const proxyCert = issueTestCert(ca, { ips: [proxyIp], dns: ['proxy'] });
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text, { mode: 0o600 });
        return join(dir, name);
      };
      file('ca.crt', ca.cert);
      file(
        'apiserver.json',
        JSON.stringify({
          host: '127.0.0.1',
          port: 6443,
          certFile: file('api.crt', apiCert.cert),
          keyFile: file('api.key', apiCert.key),
          seenFile: join(dir, 'seen.jsonl'),
          accounts: {
            [PROXY_TOKEN]: { user: 'system:serviceaccount:trellis:kube-proxy', groups: [], mayImpersonate: true },
            [ADMIN_TOKEN]: { user: 'cluster-admin', groups: ['system:masters'] },
          },
          rules: [
            { group: 'system:masters', verbs: ['*'], resources: ['*'] },
            {
              group: 'devs',
              verbs: ['get', 'list', 'watch'],
              resources: ['pods', 'pods/log', 'namespaces', 'configmaps'],
            },
            {
              group: 'devs',
              verbs: ['create'],
              resources: ['pods/exec', 'pods/attach', 'pods/portforward'],
              namespaces: ['default'],
            },
          ],
          // The pod's port 8080 is a TCP server on the proxy node's loopback (below).
          podPorts: { 'default/web-1:8080': `127.0.0.1:${POD_PORT}` },
        }),
      );
      writeFileSync(join(dir, 'seen.jsonl'), '');
      podPort = await proxy.host.serveTcp([POD_PORT]);
      const api = proxy.host.spawn('node', [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/support/kube-apiserver/main.ts'),
        join(dir, 'apiserver.json'),
      ]);
      await api.waitFor(/stand-in API server ready/, 30_000);
      file(
        'upstream.kubeconfig',
        kubeconfigYaml('https://127.0.0.1:6443', join(dir, 'ca.crt'), { token: PROXY_TOKEN }),
      );
      file('admin.kubeconfig', kubeconfigYaml('https://127.0.0.1:6443', join(dir, 'ca.crt'), { token: ADMIN_TOKEN }));
      file('kubectl.kubeconfig', kubeconfigYaml(`https://${proxyIp}:443`, join(dir, 'ca.crt'), undefined));
      kubeProxy = proxy.host.spawn('node', [
        TRELLIS_BIN,
        'kube-proxy',
        '--state-dir',
        proxy.stateDir,
        '--kubeconfig',
        join(dir, 'upstream.kubeconfig'),
        '--tls-cert',
        file('proxy.crt', proxyCert.cert),
        '--tls-key',
        file('proxy.key', proxyCert.key),
      ]);
      await kubeProxy.waitFor(/kube-proxy ready/, 30_000);
    }, 180_000);
    afterAll(async () => {
      await podPort?.stop();
      await lab?.cleanup();
      server?.dispose();
      for (const n of [proxy, alice, bob]) n?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('kubectl auth whoami shows the person and the groups the grant names', async () => {
      const r = await kubectl(alice, ['auth', 'whoami']);
      expect(r.exitCode, r.stderr + kubeProxy.output).toBe(0);
      expect(r.stdout).toMatch(/Username\s+alice@example\.com/);
      expect(r.stdout).toMatch(/Groups\s+\[devs system:authenticated\]/);
    });

    it('a person without the grant gets a clear 403 naming the grant to add', async () => {
      const r = await kubectl(bob, ['get', 'pods']);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain('Error from server (Forbidden)');
      expect(r.stderr).toContain('Warning: trellis kube-proxy: bob@example.com (node bob,');
      expect(r.stderr).toContain('holds no "trellis.dev/cap/kubernetes" capability');
      expect(r.stderr).toContain('"dst":["tag:k8s"]');
      expect(seen().some((s) => s.user === 'bob@example.com')).toBe(false);
    });

    it('forged credentials and impersonation from the client change nothing', async () => {
      const r = await kubectl(alice, [
        'auth',
        'whoami',
        `--token=${ADMIN_TOKEN}`,
        '--as=cluster-admin',
        '--as-group=system:masters',
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Username\s+alice@example\.com/);
      expect(r.stdout).toMatch(/Groups\s+\[devs system:authenticated\]/);
      expect(seen().some((s) => s.user === 'cluster-admin')).toBe(false);
    });

    it('kubectl get pods --watch streams a pod created while it watches', async () => {
      const watch = alice.host.spawn('kubectl', [
        '--kubeconfig',
        join(dir, 'kubectl.kubeconfig'),
        '--cache-dir',
        join(dir, 'cache-watch'),
        'get',
        'pods',
        '--watch',
      ]);
      try {
        await watch.waitFor(/web-2/, 30_000);
        writeFileSync(
          join(dir, 'pod.json'),
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'streamed' },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          }),
        );
        await proxy.host.exec(
          'kubectl',
          [
            '--kubeconfig',
            join(dir, 'admin.kubeconfig'),
            '--cache-dir',
            join(dir, 'cache-admin'),
            'create',
            '-f',
            join(dir, 'pod.json'),
            '--validate=false',
          ],
          { timeoutMs: 30_000 },
        );
        await watch.waitFor(/streamed\s+1\/1\s+Running/, 15_000);
      } finally {
        await watch.stop();
      }
    });

    it('kubectl exec runs a command in a pod over the WebSocket upgrade', async () => {
      const r = await kubectl(alice, ['exec', 'web-1', '--', 'echo', 'hello', 'from', 'the', 'mesh']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe('hello from the mesh\n');
    });

    for (const [transport, env] of [
      ['WebSocket (kubectl 1.32 default)', []],
      ['SPDY/3.1 on the upgraded connection', ['KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false']],
    ] as const) {
      it(`kubectl exec and attach -i run over ${transport}`, async () => {
        const exec = await kubectl(alice, ['exec', 'web-1', '--', 'hostname'], { env: [...env] });
        expect(exec.exitCode, exec.stderr).toBe(0);
        expect(exec.stdout).toBe('web-1\n');
        // The pod's main process echoes its stdin; attach ends when kubectl's stdin does.
        const attach = await kubectl(alice, ['attach', '-i', 'web-1'], { input: 'one\ntwo\n', env: [...env] });
        expect(attach.exitCode, attach.stderr).toBe(0);
        expect(attach.stdout).toBe('one\ntwo\n');
      });
    }

    for (const [transport, env] of [
      ['SPDY/3.1 tunnelled in a WebSocket (kubectl 1.32 default)', []],
      ['SPDY/3.1 on the upgraded connection', ['KUBECTL_PORT_FORWARD_WEBSOCKETS=false']],
    ] as const) {
      it(`kubectl port-forward carries a TCP connection to the pod over ${transport}`, async () => {
        const pf = alice.host.spawn('env', [
          ...env,
          'kubectl',
          ...kubectlArgs(alice, ['port-forward', 'pod/web-1', ':8080']),
        ]);
        try {
          await pf.waitFor(/Forwarding from 127\.0\.0\.1:\d+ -> 8080/, 30_000);
          const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(pf.output)![1]);
          // Twice: each connection is a new pair of streams in the one forwarded session.
          for (let i = 0; i < 2; i++)
            expect(await alice.host.connectTcp('127.0.0.1', port, 10_000)).toEqual({
              ok: true,
              // the pod's server listens dual-stack: the stand-in's dial reads as IPv4-mapped
              reply: `hello from proxy port ${POD_PORT} to ::ffff:127.0.0.1`,
            });
        } finally {
          await pf.stop();
        }
      });
    }

    it("every call is in the server's audit trail, reported by the proxy's node", async () => {
      const deadline = Date.now() + 10_000;
      let items: AuditPage['items'] = [];
      while (Date.now() < deadline) {
        const page = await server.admin('GET', '/api/v1/audit?kind=kube.request&limit=1000');
        items = AuditPage.parse(page.body).items;
        // The proxy reports in batches every half second: wait for all of alice's calls.
        const alices = items.filter((e) => e.actor === 'alice@example.com').length;
        if (alices >= seen().filter((s) => s.user === 'alice@example.com').length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const messages = items.map((e) => `${e.actor} ${e.outcome} ${e.message}`);
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^alice@example\.com success kube-proxy on proxy: create selfsubjectreviews \(group authentication\.k8s\.io\) as alice@example\.com with groups devs: 201$/,
        ),
      );
      expect(messages).toContainEqual(
        expect.stringMatching(/^bob@example\.com failure kube-proxy on proxy: get \/api refused by the proxy: 403$/),
      );
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^alice@example\.com success kube-proxy on proxy: watch pods in namespace default as alice@example\.com with groups devs: 200$/,
        ),
      );
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^alice@example\.com success kube-proxy on proxy: create pods\/exec "web-1" in namespace default .*: 101$/,
        ),
      );
      for (const sub of ['attach', 'portforward'])
        expect(messages).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^alice@example\\.com success kube-proxy on proxy: create pods/${sub} "web-1" in namespace default .*: 101$`,
            ),
          ),
        );
      const bobs = items.find((e) => e.actor === 'bob@example.com')!;
      expect(bobs).toMatchObject({
        code: 'kube_proxy.no_capability',
        method: 'mesh-address',
        identity: 'node bob',
        source: await bob.ipv4(),
      });
      // Every request the stand-in decided for a person came through the proxy and is audited.
      const apiSaw = seen().filter((s) => s.user === 'alice@example.com').length;
      expect(items.filter((e) => e.actor === 'alice@example.com').length).toBeGreaterThanOrEqual(apiSaw);
    });
  },
);
