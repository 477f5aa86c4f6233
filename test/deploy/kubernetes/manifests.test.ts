/**
 * deploy/kubernetes as a cluster would receive it: every overlay rendered by the real
 * `kubectl kustomize`, every object checked against the Kubernetes OpenAPI schemas of its kind
 * (kubernetes-models), the least-privilege rules held (least-privilege.ts), and the parts that
 * Trellis itself reads (the server's config, the agents' environment) read by Trellis's own code.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { AGENT } from '../../../client/cli/agent.ts';
import { KUBE_PROXY } from '../../../client/cli/kube-proxy.ts';
import { KUBE_PROXY_NODE_FLAGS } from '../../../client/kube-proxy/node-flags.ts';
import { routeProbes } from '../../../client/cli/up.ts';
import { cidrList } from '../../../client/cli/local/flags.ts';
import { workloadFrom } from '../../../client/cli/local/workload-flags.ts';
import { parseCommand } from '../../../cli-flags/index.ts';
import { loadConfig } from '../../../server/config/load.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { AGENT_CONTAINER, leastPrivilegeProblems } from './least-privilege.ts';
import { validateAgainstSchema } from './openapi.ts';
import { KUSTOMIZE_ROOT, overlays, render, type KubeObject } from './render.ts';

const EXPECTED_OVERLAYS = ['agent-daemonset', 'agent-gateway', 'agent-sidecar', 'apiserver-proxy', 'server'];

type Env = Array<{ name: string; value?: string }>;
type Container = { name: string; env?: Env; envFrom?: Array<{ configMapRef?: { name: string } }>; [k: string]: any };

const podSpecOf = (o: KubeObject) =>
  (o.spec as { template: { spec: { containers: Container[]; volumes: any[] } } }).template.spec;

/** A container's environment as the kubelet gives it: its config maps' data, then its own env. */
function environment(objects: KubeObject[], c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    if (!map) throw new Error(`${c.name}: config map ${from.configMapRef?.name} is not in the overlay`);
    Object.assign(out, map.data as Record<string, string> | undefined);
  }
  for (const e of c.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

describeWith([hasCommand('kubectl')], 'deploy/kubernetes', () => {
  const rendered = new Map<string, KubeObject[]>();
  beforeAll(() => {
    for (const o of overlays()) rendered.set(o, render(o));
  });

  it('has one overlay per part, each rendered by kubectl kustomize, and documents each', () => {
    expect(overlays()).toEqual(EXPECTED_OVERLAYS);
    const readme = readFileSync(join(KUSTOMIZE_ROOT, 'README.md'), 'utf8');
    for (const o of overlays()) {
      expect(rendered.get(o)?.length, o).toBeGreaterThan(0);
      expect(readme, o).toContain(`overlays/${o}`);
    }
  });

  it('every rendered object is valid against the Kubernetes OpenAPI schema of its kind', async () => {
    for (const [overlay, objects] of rendered) {
      for (const o of objects)
        await expect(validateAgainstSchema(o), `${overlay}: ${o.kind}/${o.metadata.name}`).resolves.toBeUndefined();
    }
  });

  it('the schema check refuses what a cluster would refuse', async () => {
    const deployment = rendered.get('agent-sidecar')!.find((o) => o.kind === 'Deployment')!;
    const broken = structuredClone(deployment) as any;
    broken.spec.replicas = 'two';
    broken.spec.template.spec.containers[0].resources.limits.cpu = 'lots';
    await expect(validateAgainstSchema(broken)).rejects.toThrow(/replicas must be integer/);
    await expect(validateAgainstSchema({ ...deployment, kind: 'Deploymnet' })).rejects.toThrow(/no schema/);
  });

  it('every overlay keeps the least-privilege rules', () => {
    for (const [overlay, objects] of rendered) expect(leastPrivilegeProblems(objects), overlay).toEqual([]);
  });

  it('the least-privilege checks catch each kind of breach', () => {
    const objects = rendered.get('agent-sidecar')!;
    const breach = (change: (app: any, pod: any, agent: any) => void) => {
      const copy = structuredClone(objects);
      const d = copy.find((o) => o.kind === 'Deployment')!;
      const pod = podSpecOf(d) as any;
      change(
        pod.containers.find((c: Container) => c.name === 'app'),
        pod,
        pod.containers.find((c: Container) => c.name === AGENT_CONTAINER),
      );
      return leastPrivilegeProblems(copy);
    };
    expect(breach((app) => (app.securityContext.privileged = true))).toEqual([
      'Deployment/payments-api container app: privileged',
    ]);
    expect(breach((app) => (app.securityContext.capabilities.add = ['NET_ADMIN']))).toEqual([
      'Deployment/payments-api container app: adds NET_ADMIN, which only trellis-agent needs',
    ]);
    expect(breach((_, __, agent) => agent.securityContext.capabilities.add.push('SYS_ADMIN'))).toEqual([
      'Deployment/payments-api container trellis-agent: adds capability SYS_ADMIN',
    ]);
    expect(breach((app) => delete app.securityContext.readOnlyRootFilesystem)).toEqual([
      'Deployment/payments-api container app: root filesystem is not read-only',
    ]);
    expect(breach((app) => (app.securityContext.runAsUser = 0))).toEqual([
      'Deployment/payments-api container app: may run as root',
    ]);
    expect(breach((app) => delete app.resources.limits)).toEqual([
      'Deployment/payments-api container app: no cpu limits',
      'Deployment/payments-api container app: no memory limits',
    ]);
    expect(breach((app) => delete app.livenessProbe)).toEqual([
      'Deployment/payments-api container app: no readiness or liveness probe',
    ]);
    expect(breach((_, pod) => (pod.hostNetwork = true))).toEqual([
      'Deployment/payments-api: host network outside the node agent',
    ]);
    expect(breach((_, pod) => pod.volumes.push({ name: 'root', hostPath: { path: '/' } }))).toEqual([
      'Deployment/payments-api: mounts host path /',
    ]);
    expect(breach((_, pod) => delete pod.automountServiceAccountToken)).toEqual([
      'Deployment/payments-api: mounts a service-account token it did not ask for (automountServiceAccountToken)',
    ]);
    const noPolicy = objects.filter((o) => o.kind !== 'NetworkPolicy');
    expect(leastPrivilegeProblems(noPolicy)).toEqual([
      'Deployment/payments-api: no NetworkPolicy limits its ingress',
      'Deployment/payments-api: no NetworkPolicy limits its egress',
    ]);
    const role: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'too-much' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
    };
    expect(leastPrivilegeProblems([role])).toEqual([
      'ClusterRole/too-much: grants {"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}; the only rule allowed is impersonating users, groups and service accounts',
    ]);
  });

  it("the server's config is one the server loads, and its Service carries the relay's ports", () => {
    const objects = rendered.get('server')!;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('trellis-server'))!;
    const statefulSet = objects.find((o) => o.kind === 'StatefulSet')!;
    const configVolume = podSpecOf(statefulSet).volumes.find((v) => v.name === 'config');
    expect(configVolume.configMap.name).toBe(map.metadata.name);
    const dir = mkdtempSync(join(tmpdir(), 'trellis-k8s-'));
    try {
      const file = join(dir, 'server.yaml');
      writeFileSync(file, (map.data as Record<string, string>)['server.yaml']!);
      const config = loadConfig({ file, env: {} });
      expect(config.kubernetes.clusters.map((c) => c.name)).toEqual(['prod']);
      const service = objects.find((o) => o.kind === 'Service')!;
      const ports = (service.spec as { ports: unknown[] }).ports;
      expect(ports).toContainEqual(expect.objectContaining({ port: config.relay.udpPort, protocol: 'UDP' }));
      expect(ports).toContainEqual(expect.objectContaining({ port: config.relay.stunPort, protocol: 'UDP' }));
      expect(podSpecOf(statefulSet).containers[0]!.ports).toContainEqual(
        expect.objectContaining({ containerPort: config.listen.port, protocol: 'TCP' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every agent joins with its projected token, as the agent reads its environment', () => {
    let agents = 0;
    for (const [overlay, objects] of rendered) {
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'DaemonSet')) {
        const pod = podSpecOf(o);
        const agent = pod.containers.find((c) => c.name === AGENT_CONTAINER);
        if (!agent) continue;
        agents++;
        const env = environment(objects, agent);
        expect(env.TRELLIS_SERVER, overlay).toMatch(/^https:\/\//);
        expect(workloadFrom({}, env), overlay).toMatchObject({
          credential: 'kubernetes',
          cluster: 'prod',
          source: { type: 'file', path: env.TRELLIS_TOKEN_FILE },
        });
        // The token is a projected one with the server's audience, mounted only where the agent looks.
        const volume = pod.volumes.find((v) => v.name === 'trellis-token');
        const token = volume.projected.sources[0].serviceAccountToken;
        expect(token.audience, overlay).toBe('trellis');
        const mount = agent.volumeMounts.find((m: { name: string }) => m.name === 'trellis-token');
        expect(`${mount.mountPath}/${token.path}`, overlay).toBe(env.TRELLIS_TOKEN_FILE);
        for (const other of pod.containers.filter((c) => c !== agent)) {
          expect(other.volumeMounts?.some((m: { name: string }) => m.name === 'trellis-token') ?? false, overlay).toBe(
            false,
          );
        }
      }
    }
    expect(agents).toBeGreaterThanOrEqual(2);
  });

  it('the API server proxy: two replicas, its own account that may only impersonate, a disruption budget', () => {
    const objects = rendered.get('apiserver-proxy')!;
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const pod = podSpecOf(deployment) as any;
    const role = objects.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] },
    ]);
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deployment.metadata.namespace },
    ]);
    expect(objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === pod.serviceAccountName)).toBe(true);
    expect(objects.find((o) => o.kind === 'PodDisruptionBudget')?.spec).toMatchObject({ minAvailable: 1 });
    // The proxy holds the in-cluster credential, the agent the mesh one; neither sees the other's.
    const proxy = pod.containers.find((c: Container) => c.name === 'proxy');
    const agent = pod.containers.find((c: Container) => c.name === AGENT_CONTAINER);
    const mounts = (c: Container) => c.volumeMounts.map((m: { name: string }) => m.name);
    expect(mounts(proxy)).toContain('kube-api-access');
    expect(mounts(agent)).not.toContain('kube-api-access');
    expect(proxy.command).toEqual(['node', ...KUBE_PROXY_NODE_FLAGS, 'bin/trellis.js', 'kube-proxy']);
    const { flags } = parseCommand(proxy.args, KUBE_PROXY);
    expect(flags.mode).toBe('auth');
    expect(flags.kubeconfig).toBeUndefined(); // in-cluster: the projected credential above
    // The proxy asks the agent about callers over the shared socket, which its group may use.
    expect(environment(objects, proxy).TRELLIS_SOCKET).toBe(environment(objects, agent).TRELLIS_SOCKET);
    expect(mounts(proxy)).toContain('trellis-run');
    const agentFlags = parseCommand(agent.args, AGENT).flags;
    expect(agentFlags['socket-group']).toBe(String(proxy.securityContext.runAsGroup));
    // Both replicas behind the one mesh name the server's config serves, healthy while 443 answers.
    expect(agentFlags.serve).toEqual(['kube=tcp:443']);
    const config = rendered.get('server')!.find((o) => o.kind === 'ConfigMap')!;
    expect(Object.values((config as unknown as { data: Record<string, string> }).data).join('\n')).toMatch(
      /services:\n(\s+#.*\n)*\s+- name: kube\n\s+servedBy: \[tag:k8s-api\]/,
    );
  });

  it("every agent's command line is one `trellis agent` accepts (the image runs `trellis agent`)", () => {
    for (const [overlay, objects] of rendered) {
      for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'DaemonSet')) {
        const agent = podSpecOf(o).containers.find((c) => c.name === AGENT_CONTAINER);
        if (!agent) continue;
        expect(agent.command, overlay).toBeUndefined();
        expect(() => parseCommand(agent.args ?? [], AGENT), `${overlay}: ${JSON.stringify(agent.args)}`).not.toThrow();
      }
    }
    expect(() => parseCommand(['--socket-grup', '1'], AGENT)).toThrow();
  });

  it('the HA gateway: two routers kept apart, offering the ranges its NetworkPolicy lets it reach', () => {
    const objects = rendered.get('agent-gateway')!;
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect((deployment.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    const pod = podSpecOf(deployment) as any;
    expect(pod.affinity.podAntiAffinity).toBeDefined();
    expect(pod.securityContext.sysctls.map((s: { name: string }) => s.name)).toEqual([
      'net.ipv4.ip_forward',
      'net.ipv6.conf.all.forwarding',
    ]);
    const agent = pod.containers.find((c: Container) => c.name === AGENT_CONTAINER);
    const { flags } = parseCommand(agent.args, AGENT);
    const routes = cidrList('advertise-routes', flags['advertise-routes']!);
    expect(routes.length).toBeGreaterThan(0);
    expect(flags['snat-subnet-routes']).toBe(true);
    // Each probe is one the agent reads, for a route it advertises.
    for (const probe of routeProbes(flags['route-probe'])) expect(routes).toContain(probe.prefix);
    expect(flags['route-probe'].length).toBeGreaterThan(0);
    const policy = objects.find((o) => o.kind === 'NetworkPolicy')!;
    const blocks = (policy.spec as { egress: Array<{ to?: Array<{ ipBlock: { cidr: string } }> }> }).egress
      .flatMap((e) => e.to ?? [])
      .map((t) => t.ipBlock.cidr);
    expect(blocks.sort()).toEqual([...routes].sort());
  });

  it('the node agents carry the mesh for pods without an agent of their own', () => {
    const daemonSet = rendered.get('agent-daemonset')!.find((o) => o.kind === 'DaemonSet')!;
    const agent = podSpecOf(daemonSet).containers.find((c) => c.name === AGENT_CONTAINER)!;
    const { flags } = parseCommand(agent.args ?? [], AGENT);
    expect(cidrList('gateway-for', flags['gateway-for']!).length).toBeGreaterThan(0);
  });
});
