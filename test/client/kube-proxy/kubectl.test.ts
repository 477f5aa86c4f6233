import { execFile, spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RESOURCES } from '../../support/kube-apiserver/objects.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startLoopbackProxy, type LoopbackProxy } from './loopback-proxy.ts';
import { until } from './requests.ts';

/**
 * Real kubectl (Debian's, 1.32) through the proxy on loopback, with a kubeconfig that holds no
 * credential: the proxy decides who kubectl is (127.0.0.1 is alice's laptop in the loopback
 * table). The end-to-end suite does the same across the mesh.
 */
describeWith([hasCommand('kubectl', 'kubernetes-client')], 'kubectl through the proxy', () => {
  let p: LoopbackProxy;
  const env = () => ({ ...process.env, KUBECONFIG: p.kubeconfig, HOME: p.dir });
  const kubectl = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('kubectl', args, { env: env(), timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    p = await startLoopbackProxy('auth');
  });
  afterAll(async () => {
    await p?.close();
  });

  it('kubectl auth whoami shows the caller and its granted groups', async () => {
    const r = await kubectl(['auth', 'whoami']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Username\s+alice@example\.com/);
    expect(r.stdout).toMatch(/Groups\s+\[devs viewers system:authenticated\]/);
  });

  it('kubectl --as=self --as-group narrows the groups', async () => {
    const r = await kubectl(['auth', 'whoami', '--as=alice@example.com', '--as-group=viewers']);
    expect(r.stdout).toMatch(/Groups\s+\[viewers system:authenticated\]/);
  });

  it('kubectl get pods lists, and an RBAC refusal reads as the API server wrote it', async () => {
    const r = await kubectl(['get', 'pods']);
    expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS/);
    expect(r.stdout).toMatch(/web-1\s+1\/1\s+Running/);
    const denied = await kubectl(['delete', 'pod', 'web-2']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'Error from server (Forbidden): pods "web-2" is forbidden: User "alice@example.com" cannot delete resource "pods"',
    );
  });

  it('kubectl exec runs a command over WebSocket and returns its exit code', async () => {
    const ok = await kubectl(['exec', 'web-1', '--', 'echo', 'hello', 'mesh']);
    expect(ok).toMatchObject({ code: 0, stdout: 'hello mesh\n' });
    const failed = await kubectl(['exec', 'web-1', '--', 'false']);
    expect(failed.code).toBe(1);
  });

  it('kubectl get pods --watch streams a pod created after it started', async () => {
    const child = spawn('kubectl', ['get', 'pods', '--watch'], { env: env() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until(() => out.includes('web-2'), 'the first listing', 15_000);
      p.api.store.create(RESOURCES[1]!, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'late-pod', namespace: 'default' },
        status: { phase: 'Running' },
      });
      await until(() => out.includes('late-pod'), 'the watched pod', 15_000);
      expect(out).toMatch(/late-pod\s+1\/1\s+Running/);
    } finally {
      child.kill();
    }
  });

  it('kubectl exec and attach -i fall back to SPDY/3.1 on the upgraded connection when WebSockets are off', async () => {
    const spdy = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    const exec = await kubectlWithInput(['exec', 'web-1', '--', 'false'], '', spdy);
    expect(exec).toMatchObject({ code: 1, stderr: expect.stringContaining('command terminated with exit code 1') });
    expect(await kubectlWithInput(['exec', 'web-1', '--', 'hostname'], '', spdy)).toMatchObject({
      code: 0,
      stdout: 'web-1\n',
    });
    expect(await kubectlWithInput(['attach', '-i', 'web-1'], 'one\ntwo\n', spdy)).toMatchObject({
      code: 0,
      stdout: 'one\ntwo\n',
    });
    const upgrades = p.api.seen.filter((s) => s.resource === 'pods/exec' || s.resource === 'pods/attach');
    expect(upgrades.slice(-3).map((s) => [s.resource, s.status])).toEqual([
      ['pods/exec', 101],
      ['pods/exec', 101],
      ['pods/attach', 101],
    ]);
  });

  it("kubectl attach -i joins the pod's main process (which echoes its stdin) over WebSocket", async () => {
    const r = await kubectlWithInput(['attach', '-i', 'web-1'], 'one\ntwo\n');
    expect(r).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    expect(p.events).toContainEqual(
      expect.objectContaining({ verb: 'create', resource: 'pods/attach', name: 'web-1', status: 101 }),
    );
  });

  for (const [transport, websockets] of [
    ['SPDY/3.1 tunnelled in a WebSocket (kubectl 1.32 default)', 'true'],
    ['SPDY/3.1 on the upgraded connection', 'false'],
  ] as const)
    it(`kubectl port-forward carries TCP both ways over ${transport}`, async () => {
      const pod = await echoPort();
      p.api.podPorts['default/web-1:8080'] = pod.address;
      const pf = await portForward('8080', websockets);
      try {
        // Two connections one after the other: each is a pair of streams in the one session.
        expect(await roundTrip(pf.port, 'ping\n')).toBe('pod says hello\nping\n');
        expect(await roundTrip(pf.port, 'x'.repeat(100_000))).toBe(`pod says hello\n${'x'.repeat(100_000)}`);
      } finally {
        pf.stop();
        pod.close();
      }
      const upgrades = p.api.seen.filter((s) => s.resource === 'pods/portforward');
      expect(upgrades.at(-1)).toMatchObject({ user: 'alice@example.com', verb: 'create', status: 101 });
    });

  it("kubectl port-forward to a port nothing listens on reports the pod's refusal", async () => {
    const pf = await portForward('81', 'true');
    try {
      await roundTrip(pf.port, 'ping\n').catch(() => undefined);
      await until(() => pf.stderr().includes('connection refused'), 'the error stream', 10_000);
      expect(pf.stderr()).toContain(
        'error forwarding port 81 to pod web-1: dial tcp4 127.0.0.1:81: connect: connection refused',
      );
    } finally {
      pf.stop();
    }
  });

  const kubectlWithInput = (args: string[], input: string, extraEnv: Record<string, string> = {}) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'kubectl',
        args,
        { env: { ...env(), ...extraEnv }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(input);
    });

  /** `kubectl port-forward pod/web-1 :PORT`: the local port it chose, once it listens. */
  async function portForward(podPort: string, websockets: 'true' | 'false') {
    const child = spawn('kubectl', ['port-forward', 'pod/web-1', `:${podPort}`], {
      env: { ...env(), KUBECTL_PORT_FORWARD_WEBSOCKETS: websockets },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out), 'kubectl port-forward listening', 15_000);
    } catch (e) {
      child.kill();
      throw new Error(`${(e as Error).message}: ${err}`, { cause: e });
    }
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    return { port, stderr: () => err, stop: () => child.kill() };
  }
});

/** A pod's port: greets, then echoes. */
async function echoPort(): Promise<{ address: string; close(): void }> {
  const server = createServer((c) => {
    c.write('pod says hello\n');
    c.pipe(c);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** Sends `text` to the local port, half-closes, and reads until the far side closes. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('end', () => resolve(got));
    c.on('error', reject);
    c.end(text);
  });
}
