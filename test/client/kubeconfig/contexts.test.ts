import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addProxyContext, addSubnetContext, NO_CREDENTIAL_TOKEN } from '../../../client/kubeconfig/contexts.ts';
import { kubeconfigPath, readKubeconfig, writeKubeconfig } from '../../../client/kubeconfig/kubeconfig-file.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const EXISTING = `apiVersion: v1
kind: Config
preferences: { colors: true }
clusters:
  - name: prod
    cluster: { server: https://prod.example.com, certificate-authority-data: UFJPRA==, tls-server-name: api.prod }
users:
  - name: alice
    user: { token: alices-own-token }
contexts:
  - name: prod
    context: { cluster: prod, user: alice, namespace: web }
current-context: prod
`;

describe('kubeconfig contexts', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kt-kubeconfig-'));
    file = join(dir, 'config');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds a proxy context with the CA embedded, a placeholder instead of a credential, and keeps the rest', () => {
    writeFileSync(file, EXISTING);
    const doc = readKubeconfig(file);
    addProxyContext(doc, 'kube.mesh.trellis.internal', 443, [CA]);
    writeKubeconfig(file, doc);
    const written = parse(readFileSync(file, 'utf8'));
    expect(written.clusters).toContainEqual({
      name: 'kube.mesh.trellis.internal',
      cluster: {
        server: 'https://kube.mesh.trellis.internal',
        'certificate-authority-data': Buffer.from(CA).toString('base64'),
      },
    });
    expect(written.users).toContainEqual({ name: 'kube.mesh.trellis.internal', user: { token: NO_CREDENTIAL_TOKEN } });
    expect(written['current-context']).toBe('kube.mesh.trellis.internal');
    expect(written.preferences).toEqual({ colors: true });
    expect(written.users).toContainEqual({ name: 'alice', user: { token: 'alices-own-token' } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('replaces its own entries when run again, never duplicating them', () => {
    const doc = readKubeconfig(file); // no file yet: an empty kubeconfig
    addProxyContext(doc, 'kube.mesh.trellis.internal', 443, [CA]);
    addProxyContext(doc, 'kube.mesh.trellis.internal', 8443, [CA, CA]);
    expect(doc.clusters).toHaveLength(1);
    expect((doc.clusters![0]!.cluster as { server: string }).server).toBe('https://kube.mesh.trellis.internal:8443');
    expect(doc.users).toHaveLength(1);
  });

  it("adds a subnet context that uses an existing context's CA and user by reference", () => {
    writeFileSync(file, EXISTING);
    const doc = readKubeconfig(file);
    addSubnetContext(doc, 'prod-private', 'https://10.0.0.1:6443', 'prod');
    expect(doc.clusters).toContainEqual({
      name: 'prod-private',
      cluster: {
        server: 'https://10.0.0.1:6443',
        'certificate-authority-data': 'UFJPRA==',
        'tls-server-name': 'api.prod',
      },
    });
    expect(doc.contexts).toContainEqual({
      name: 'prod-private',
      context: { cluster: 'prod-private', user: 'alice', namespace: 'web' },
    });
    expect(doc.users).toHaveLength(1); // alice's credentials were not copied
  });

  it('refuses a --from-context that does not exist, naming the ones that do', () => {
    writeFileSync(file, EXISTING);
    expect(() => addSubnetContext(readKubeconfig(file), 'x', 'https://10.0.0.1', 'staging')).toThrow(
      expect.objectContaining({ code: 'kubeconfig.unknown_context', message: expect.stringContaining('prod') }),
    );
  });

  it('refuses to change a file that is not a kubeconfig', () => {
    writeFileSync(file, 'clusters: 7\n');
    expect(() => readKubeconfig(file)).toThrow(expect.objectContaining({ code: 'kubeconfig.unreadable' }));
    writeFileSync(file, 'a: [\n');
    expect(() => readKubeconfig(file)).toThrow(expect.objectContaining({ code: 'kubeconfig.unreadable' }));
  });

  it('writes the file kubectl reads: --kubeconfig, else the first of $KUBECONFIG, else ~/.kube/config', () => {
    expect(kubeconfigPath('/a', { KUBECONFIG: '/b:/c' })).toBe('/a');
    expect(kubeconfigPath(undefined, { KUBECONFIG: ':/b:/c' })).toBe('/b');
    expect(kubeconfigPath(undefined, { HOME: '/home/x' })).toBe('/home/x/.kube/config');
  });
});
