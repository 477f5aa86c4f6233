import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KubeProxyError } from './errors.ts';
import { bearerFromFile, readText, type Upstream } from './upstream.ts';

/**
 * The upstream from a kubeconfig file (the proxy outside the cluster): its current context, or
 * the one named. Supported credentials: a token, a token file, a client certificate. An exec
 * plugin or auth provider is refused by name, since the proxy cannot run one unattended.
 */
const Kubeconfig = z.object({
  'current-context': z.string().optional(),
  contexts: z
    .array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }) }))
    .default([]),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.string(),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
          'tls-server-name': z.string().optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.object({
        name: z.string(),
        user: z.looseObject({
          token: z.string().optional(),
          tokenFile: z.string().optional(),
          'client-certificate': z.string().optional(),
          'client-certificate-data': z.string().optional(),
          'client-key': z.string().optional(),
          'client-key-data': z.string().optional(),
        }),
      }),
    )
    .default([]),
});

export function kubeconfigUpstream(path: string, contextName?: string): Upstream {
  const bad = (what: string) => new KubeProxyError('kube_proxy.bad_kubeconfig', `${path}: ${what}`);
  let doc: unknown;
  try {
    doc = parseYaml(readText(path, 'the kubeconfig'));
  } catch (err) {
    if (err instanceof KubeProxyError) throw err;
    throw bad(`not YAML: ${(err as Error).message}`);
  }
  const parsed = Kubeconfig.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw bad(`${issue.path.join('.')}: ${issue.message}`);
  }
  const config = parsed.data;
  const name = contextName ?? config['current-context'];
  if (!name) throw bad('no current-context; give --context NAME');
  const context = config.contexts.find((c) => c.name === name)?.context;
  if (!context) throw bad(`no context "${name}"`);
  const cluster = config.clusters.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw bad(`context "${name}" names cluster "${context.cluster}", which is not in the file`);
  const user = context.user === undefined ? undefined : config.users.find((u) => u.name === context.user)?.user;
  if (context.user !== undefined && !user)
    throw bad(`context "${name}" names user "${context.user}", which is not in the file`);
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw bad(`cluster "${context.cluster}": server "${cluster.server}" is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw bad(`cluster "${context.cluster}": the server must be https:// (got ${url.protocol})`);
  const base = dirname(path);
  const file = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const pem = (data: string | undefined, at: string | undefined, what: string) =>
    data !== undefined
      ? Buffer.from(data, 'base64').toString('utf8')
      : at !== undefined
        ? readText(file(at), what)
        : undefined;
  if (user && ('exec' in user || 'auth-provider' in user))
    throw bad(
      `user "${context.user}" authenticates with an exec plugin or auth provider; give the proxy a token, token file or client certificate`,
    );
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority'], 'the cluster CA');
  const cert = pem(user?.['client-certificate-data'], user?.['client-certificate'], 'the client certificate');
  const key = pem(user?.['client-key-data'], user?.['client-key'], 'the client key');
  if ((cert === undefined) !== (key === undefined))
    throw bad(`user "${context.user}": a client certificate needs its key`);
  const token = user?.token;
  const tokenFile = user?.tokenFile;
  const authorization =
    token !== undefined
      ? () => `Bearer ${token}`
      : tokenFile !== undefined
        ? bearerFromFile(file(tokenFile))
        : () => undefined;
  if (token === undefined && tokenFile === undefined && cert === undefined)
    throw bad(`context "${name}" has no credential (token, tokenFile or client certificate): the proxy needs its own`);
  return {
    url,
    ...(ca !== undefined && { ca }),
    ...(cluster['tls-server-name'] !== undefined && { serverName: cluster['tls-server-name'] }),
    ...(cert !== undefined && key !== undefined && { clientCert: { cert, key } }),
    authorization,
  };
}
