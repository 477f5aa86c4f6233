import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { workloadFrom } from '../../client/cli/local/workload-flags.ts';
import { loadConfig } from '../../server/config/load.ts';

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
const docs = (file: string): Doc[] =>
  parseAllDocuments(readFileSync(`deploy/kubernetes/${file}`, 'utf8')).map((d) => d.toJS() as Doc);
const envOf = (c: { env?: Array<{ name: string; value: string }> }) =>
  Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

describe('deploy/kubernetes', () => {
  it('every manifest is well-formed YAML with a kind and a name', () => {
    for (const file of ['server.yaml', 'agent-sidecar.yaml', 'agent-daemonset.yaml']) {
      for (const d of docs(file)) {
        expect(d.apiVersion, file).toMatch(/^(v1|apps\/v1)$/);
        expect(d.kind, file).toMatch(/^[A-Z]\w+$/);
        expect(d.metadata.name, file).toMatch(/^[a-z0-9-]+$/);
      }
    }
  });

  it("the server's config map is a valid server config that names the relay and the cluster", () => {
    const map = docs('server.yaml').find((d) => d.kind === 'ConfigMap')!;
    const dir = mkdtempSync(join(tmpdir(), 'trellis-k8s-'));
    try {
      const file = join(dir, 'server.yaml');
      writeFileSync(file, map.data!['server.yaml']!);
      const config = loadConfig({ file, env: {} });
      expect(config.kubernetes.clusters.map((c) => c.name)).toEqual(['prod']);
      const service = docs('server.yaml').find((d) => d.kind === 'Service')!;
      expect(service.spec.ports).toContainEqual(
        expect.objectContaining({ port: config.relay.udpPort, protocol: 'UDP' }),
      );
      expect(service.spec.ports).toContainEqual(
        expect.objectContaining({ port: config.relay.stunPort, protocol: 'UDP' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the agents join with their projected token, as the agent reads its environment', () => {
    for (const file of ['agent-sidecar.yaml', 'agent-daemonset.yaml']) {
      const pod = docs(file).find((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet')!.spec.template.spec;
      const agent = pod.containers.find((c: { image: string }) => c.image.startsWith('trellis-agent'));
      const env = envOf(agent);
      const spec = workloadFrom({}, env);
      expect(spec, file).toMatchObject({
        credential: 'kubernetes',
        cluster: 'prod',
        source: { type: 'file', path: env.TRELLIS_TOKEN_FILE },
      });
      // The token is a projected one with the server's audience, mounted where the agent looks.
      const projected = pod.volumes.find((v: { projected?: unknown }) => v.projected).projected.sources[0]
        .serviceAccountToken;
      expect(projected.audience).toBe('trellis');
      const mount = agent.volumeMounts.find((m: { name: string }) => m.name === 'trellis-token');
      expect(`${mount.mountPath}/${projected.path}`).toBe(env.TRELLIS_TOKEN_FILE);
      expect(agent.securityContext.capabilities.add).toContain('NET_ADMIN');
    }
  });
});
