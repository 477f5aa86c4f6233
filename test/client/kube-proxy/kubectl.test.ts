import { execFile, spawn } from 'node:child_process';
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
});
