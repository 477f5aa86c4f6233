import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Caller } from '../../../client/kube-proxy/caller.ts';
import { KubeProxyError } from '../../../client/kube-proxy/errors.ts';
import { Forwarder } from '../../../client/kube-proxy/forwarder.ts';
import { kubeconfigUpstream } from '../../../client/kube-proxy/kubeconfig.ts';
import { KubeProxy, type KubeProxyMode, type KubeProxyOptions } from '../../../client/kube-proxy/kube-proxy.ts';
import { MeshListener } from '../../../client/kube-proxy/mesh-listener.ts';
import type { KubeRequestEvent } from '../../../protocol/node-audit.ts';
import { KubeApiServer } from '../../support/kube-apiserver/server.ts';
import { createTestCa, issueTestCert } from '../../support/test-ca.ts';

/**
 * The proxy on loopback in front of the stand-in API server. Loopback has no mesh, so the
 * agent's map is stood in for by a table of callers by source address (127.0.0.0/8 is all
 * local on Linux: a client picks its source with `localAddress`); the end-to-end suite runs
 * the same proxy behind real agents. Everything else is the real thing: TLS both sides, the
 * proxy's kubeconfig, the forwarder, the listener, and kubectl where a test uses it.
 */
export const PROXY_TOKEN = 'proxy-sa-token-0123456789';
export const ALICE_TOKEN = 'alice-direct-token-0123456789';

export const CALLERS: Record<string, Omit<Caller, 'address'>> = {
  '127.0.0.1': user('n-alice', 'laptop', 'alice@example.com', ['devs', 'viewers']),
  '127.0.0.2': user('n-alice', 'laptop', 'alice@example.com', ['devs', 'viewers']),
  '127.0.0.3': {
    nodeId: 'n-bob',
    nodeName: 'bobs-box',
    user: 'bob@example.com',
    login: 'bob@example.com',
    tags: [],
    capMap: {},
  },
  '127.0.0.4': {
    nodeId: 'n-ci',
    nodeName: 'ci-runner',
    tags: ['tag:ci'],
    login: 'ci-runner',
    capMap: { 'trellis.dev/cap/kubernetes': [{ impersonate: { groups: ['deployers'] } }, 'not an object'] },
  },
};

function user(nodeId: string, nodeName: string, login: string, groups: string[]): Omit<Caller, 'address'> {
  return {
    nodeId,
    nodeName,
    user: login,
    login,
    tags: [],
    capMap: { 'trellis.dev/cap/kubernetes': groups.map((g) => ({ impersonate: { groups: [g] } })) },
  };
}

export interface LoopbackProxy {
  api: KubeApiServer;
  url: string;
  ca: string;
  /** A kubeconfig for kubectl: the proxy's URL and CA, and no credential at all. */
  kubeconfig: string;
  dir: string;
  events: KubeRequestEvent[];
  close(): Promise<void>;
}

export async function startLoopbackProxy(mode: KubeProxyMode = 'auth'): Promise<LoopbackProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-kp-'));
  const ca = createTestCa();
  const serving = issueTestCert(ca, { ips: ['127.0.0.1'], dns: ['localhost'] });
  const api = await startStandIn(dir, ca.cert, serving);
  const proxy = await startProxy(mode, join(dir, 'upstream.kubeconfig'), serving);
  const kubeconfig = join(dir, 'kubectl.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(proxy.url, join(dir, 'ca.crt'), undefined));
  return {
    api,
    url: proxy.url,
    ca: ca.cert,
    kubeconfig,
    dir,
    events: proxy.events,
    close: async () => {
      await proxy.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stand-in API server on loopback; writes `ca.crt` and the proxy's `upstream.kubeconfig` into `dir`. */
export async function startStandIn(
  dir: string,
  ca: string,
  serving: { cert: string; key: string },
): Promise<KubeApiServer> {
  const api = await KubeApiServer.start({
    cert: serving.cert,
    key: serving.key,
    accounts: {
      [PROXY_TOKEN]: { user: 'system:serviceaccount:trellis:kube-proxy', groups: [], mayImpersonate: true },
      [ALICE_TOKEN]: { user: 'alice@example.com', groups: ['devs'] },
    },
    rules: [
      { group: 'devs', verbs: ['get', 'list', 'watch'], resources: ['pods', 'pods/log', 'configmaps', 'namespaces'] },
      {
        group: 'devs',
        verbs: ['create'],
        resources: ['pods/exec', 'pods/attach', 'pods/portforward'],
        namespaces: ['default'],
      },
      { group: 'deployers', verbs: ['*'], resources: ['configmaps', 'pods'], namespaces: ['default'] },
    ],
  });
  writeFileSync(join(dir, 'ca.crt'), ca);
  writeFileSync(join(dir, 'upstream.kubeconfig'), kubeconfigYaml(api.url, join(dir, 'ca.crt'), { token: PROXY_TOKEN }));
  return api;
}

/**
 * The proxy on 127.0.0.1 (a free port) in front of the API server `upstreamKubeconfig` names.
 * Audit events are collected in `events`, unless `audit` (the benchmark's real reporter) takes them.
 */
export async function startProxy(
  mode: KubeProxyMode,
  upstreamKubeconfig: string,
  serving: { cert: string; key: string },
  audit?: KubeProxyOptions['audit'],
  logger: Logger = pino({ level: 'silent' }),
): Promise<{ url: string; events: KubeRequestEvent[]; close(): Promise<void> }> {
  const events: KubeRequestEvent[] = [];
  const forwarder = new Forwarder(kubeconfigUpstream(upstreamKubeconfig));
  const proxy = new KubeProxy({
    mode,
    callers: { identify: async (address) => callerAt(address) },
    forwarder,
    audit: audit ?? { record: (e) => events.push(e) },
    proxyName: 'tag:k8s',
    logger,
  });
  const listener = new MeshListener(proxy, { load: () => serving }, logger);
  const [url] = await listener.listen(['127.0.0.1'], 0);
  return {
    url: url!,
    events,
    close: async () => {
      await listener.close();
      forwarder.close();
    },
  };
}

function callerAt(address: string): Caller {
  const known = CALLERS[address];
  if (!known)
    throw new KubeProxyError('kube_proxy.unknown_caller', `no node in this proxy's network map owns ${address}`, 403);
  return { ...known, address };
}

/**
 * Without `user`, the kubeconfig kubectl uses through the proxy: a placeholder token, since
 * kubectl asks for a password when a user has no credential at all; the proxy drops it.
 */
export function kubeconfigYaml(server: string, caFile: string, user: { token: string } | undefined): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server}", certificate-authority: "${caFile}"}}]`,
    `users: [{name: u, user: {token: "${user?.token ?? 'unused'}"}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
    '',
  ].join('\n');
}
