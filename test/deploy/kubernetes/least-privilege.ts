import type { KubeObject } from './render.ts';

/**
 * The least-privilege rules every rendered manifest keeps, as checks that name each breach:
 * no privileged container or privilege escalation, capabilities all dropped and only NET_ADMIN
 * added back (by the agent alone), read-only root filesystems, non-root except the agent,
 * RuntimeDefault seccomp, resource requests and limits, probes, no host namespaces or host
 * paths beyond the tunnel device (and the node agent's state), no service-account token unless
 * asked for, NetworkPolicies around every pod that is not on the host network, RBAC that is
 * exactly the proxy's impersonation, and a PodDisruptionBudget for every replicated workload.
 */

/** The one container that needs NET_ADMIN, and root for it (containers get no ambient capabilities). */
export const AGENT_CONTAINER = 'trellis-agent';
const AGENT_STATE_ON_HOST = '/var/lib/trellis-agent';

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}
interface Container {
  name: string;
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  volumes?: Array<{ name: string; hostPath?: { path: string; type?: string } }>;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

function podTemplate(o: KubeObject): PodTemplate | undefined {
  const spec = o.spec as Record<string, any> | undefined;
  if (!WORKLOAD_KINDS.has(o.kind) || !spec) return undefined;
  if (o.kind === 'Pod') return { metadata: o.metadata, spec: spec as PodSpec };
  if (o.kind === 'CronJob') return spec.jobTemplate?.spec?.template;
  return spec.template;
}

const id = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;

function containerProblems(where: string, c: Container, pod: PodSpec): string[] {
  const out: string[] = [];
  const at = `${where} container ${c.name}`;
  const sc = c.securityContext ?? {};
  const isAgent = c.name === AGENT_CONTAINER;
  if (sc.privileged === true || pod.securityContext?.privileged === true) out.push(`${at}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is not false`);
  if (sc.readOnlyRootFilesystem !== true) out.push(`${at}: root filesystem is not read-only`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: does not drop ALL capabilities`);
  for (const cap of sc.capabilities?.add ?? []) {
    if (cap !== 'NET_ADMIN') out.push(`${at}: adds capability ${cap}`);
    else if (!isAgent) out.push(`${at}: adds NET_ADMIN, which only ${AGENT_CONTAINER} needs`);
  }
  const nonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
  const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
  if (!isAgent && (nonRoot !== true || uid === 0)) out.push(`${at}: may run as root`);
  const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${at}: no seccomp profile`);
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) if (c.resources?.[kind]?.[r] === undefined) out.push(`${at}: no ${r} ${kind}`);
  }
  return out;
}

function podProblems(o: KubeObject, t: PodTemplate): string[] {
  const where = id(o);
  const pod = t.spec;
  const out: string[] = [];
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])])
    out.push(...containerProblems(where, c, pod));
  for (const c of pod.containers ?? []) {
    if (o.kind !== 'Job' && o.kind !== 'CronJob' && (!c.readinessProbe || !c.livenessProbe))
      out.push(`${where} container ${c.name}: no readiness or liveness probe`);
  }
  const agentOnly = (pod.containers ?? []).every((c) => c.name === AGENT_CONTAINER);
  if (pod.hostNetwork && !(o.kind === 'DaemonSet' && agentOnly))
    out.push(`${where}: host network outside the node agent`);
  if (pod.hostPID || pod.hostIPC) out.push(`${where}: shares the host's PID or IPC namespace`);
  for (const v of pod.volumes ?? []) {
    if (!v.hostPath) continue;
    const tun = v.hostPath.path === '/dev/net/tun' && v.hostPath.type === 'CharDevice';
    const state = v.hostPath.path === AGENT_STATE_ON_HOST && o.kind === 'DaemonSet' && agentOnly;
    if (!tun && !state) out.push(`${where}: mounts host path ${v.hostPath.path}`);
  }
  if (!pod.serviceAccountName || pod.serviceAccountName === 'default')
    out.push(`${where}: runs as the default service account`);
  if (pod.automountServiceAccountToken !== false)
    out.push(`${where}: mounts a service-account token it did not ask for (automountServiceAccountToken)`);
  return out;
}

function selects(
  selector: { matchLabels?: Record<string, string> } | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function networkPolicyProblems(objects: KubeObject[], o: KubeObject, t: PodTemplate): string[] {
  if (t.spec.hostNetwork) return [];
  const labels = t.metadata?.labels ?? {};
  const ns = o.metadata.namespace;
  const policies = objects.filter((p) => p.kind === 'NetworkPolicy' && p.metadata.namespace === ns);
  const types = new Set<string>();
  for (const p of policies) {
    const spec = p.spec as { podSelector?: { matchLabels?: Record<string, string> }; policyTypes?: string[] };
    if (selects(spec.podSelector, labels)) for (const t of spec.policyTypes ?? []) types.add(t);
  }
  return ['Ingress', 'Egress']
    .filter((t) => !types.has(t))
    .map((t) => `${id(o)}: no NetworkPolicy limits its ${t.toLowerCase()}`);
}

function disruptionProblems(objects: KubeObject[], o: KubeObject, t: PodTemplate): string[] {
  const replicas = (o.spec as { replicas?: number }).replicas ?? 1;
  if (o.kind !== 'Deployment' || replicas < 2) return [];
  const labels = t.metadata?.labels ?? {};
  const covered = objects.some(
    (p) =>
      p.kind === 'PodDisruptionBudget' &&
      p.metadata.namespace === o.metadata.namespace &&
      selects((p.spec as { selector?: { matchLabels?: Record<string, string> } }).selector, labels),
  );
  return covered ? [] : [`${id(o)}: ${replicas} replicas and no PodDisruptionBudget`];
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** The only permission Trellis asks of a cluster: the API server proxy impersonates its callers. */
const IMPERSONATION = { apiGroups: [''], resources: ['groups', 'serviceaccounts', 'users'], verbs: ['impersonate'] };

function rbacProblems(o: KubeObject): string[] {
  if (o.kind !== 'ClusterRole' && o.kind !== 'Role') return [];
  const out: string[] = [];
  for (const r of (o as { rules?: PolicyRule[] }).rules ?? []) {
    const rule = {
      apiGroups: [...(r.apiGroups ?? [])].sort(),
      resources: [...(r.resources ?? [])].sort(),
      verbs: [...(r.verbs ?? [])].sort(),
    };
    if (JSON.stringify(rule) !== JSON.stringify(IMPERSONATION) || r.nonResourceURLs)
      out.push(
        `${id(o)}: grants ${JSON.stringify(r)}; the only rule allowed is impersonating users, groups and service accounts`,
      );
  }
  return out;
}

/** Every breach of the rules above in one overlay's rendered objects; empty when it keeps them all. */
export function leastPrivilegeProblems(objects: KubeObject[]): string[] {
  const out: string[] = [];
  for (const o of objects) {
    out.push(...rbacProblems(o));
    const t = podTemplate(o);
    if (!t) continue;
    out.push(...podProblems(o, t), ...networkPolicyProblems(objects, o, t), ...disruptionProblems(objects, o, t));
  }
  return out;
}
