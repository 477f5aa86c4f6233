import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeconfigUpstream } from '../../../client/kube-proxy/kubeconfig.ts';
import { inClusterUpstream } from '../../../client/kube-proxy/upstream.ts';

/** Where the proxy finds the API server and its own credential. */
describe('the upstream API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const config = (user: string, extra = '') =>
    file(
      'config',
      `apiVersion: v1\nclusters: [{name: c, cluster: {server: "https://10.0.0.1:6443", certificate-authority-data: ${Buffer.from('PEM').toString('base64')}}}]\n` +
        `users: [{name: u, user: ${user}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}, {name: b, context: {cluster: missing}}]\ncurrent-context: a\n${extra}`,
    );

  it("reads the current context's server, CA and token", () => {
    const up = kubeconfigUpstream(config('{token: abc}'));
    expect(up.url.href).toBe('https://10.0.0.1:6443/');
    expect(up.ca).toBe('PEM');
    expect(up.authorization()).toBe('Bearer abc');
  });

  it('reads a token file again when it changes (rotated service-account tokens)', () => {
    const token = file('token', 'first\n');
    const up = kubeconfigUpstream(config(`{tokenFile: token}`));
    expect(up.authorization()).toBe('Bearer first');
    writeFileSync(token, 'second-and-longer\n');
    expect(up.authorization()).toBe('Bearer second-and-longer');
  });

  it('refuses, naming the problem: no credential, exec plugins, a missing cluster, http, not YAML', () => {
    expect(() => kubeconfigUpstream(config('{}'))).toThrow(/has no credential/);
    expect(() => kubeconfigUpstream(config('{exec: {command: aws}}'))).toThrow(/exec plugin/);
    expect(() => kubeconfigUpstream(config('{token: a}'), 'b')).toThrow(/cluster "missing", which is not in the file/);
    expect(() => kubeconfigUpstream(config('{token: a}'), 'zzz')).toThrow(/no context "zzz"/);
    expect(() =>
      kubeconfigUpstream(
        file(
          'plain',
          'clusters: [{name: c, cluster: {server: "http://x"}}]\ncontexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n',
        ),
      ),
    ).toThrow(/must be https/);
    expect(() => kubeconfigUpstream(file('bad', '{{{'))).toThrow(
      expect.objectContaining({ code: 'kube_proxy.bad_kubeconfig' }),
    );
    expect(() => kubeconfigUpstream(join(dir, 'absent'))).toThrow(/cannot read the kubeconfig/);
  });

  it('in a cluster: the service host and port, the service-account CA and token', () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'token'), 'sa-token');
    const up = inClusterUpstream({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect(up.url.href).toBe('https://[fd00::1]/');
    expect(up.ca).toBe('CA');
    expect(up.authorization()).toBe('Bearer sa-token');
    expect(() => inClusterUpstream({}, dir)).toThrow(/KUBERNETES_SERVICE_HOST is not set/);
  });
});
