import { KubeconfigError } from './errors.ts';
import { find, upsert, type KubeconfigDoc } from './kubeconfig-file.ts';

/**
 * The placeholder that stands where a credential would be. The proxy (auth mode) takes the
 * caller's identity from the mesh connection and drops every Authorization header, so this is
 * worth nothing to anyone; without some user field, kubectl would prompt for a password.
 */
export const NO_CREDENTIAL_TOKEN = 'trellis-mesh-identity-not-a-credential';

/**
 * A context for the Kubernetes API proxy at `https://<fqdn>[:port]`: the mesh CA embedded as
 * certificate-authority-data (this cluster entry trusts it, nothing else does), a user with no
 * credential, and the context made current.
 */
export function addProxyContext(
  doc: KubeconfigDoc,
  fqdn: string,
  port: number,
  authorities: readonly string[],
): string {
  const server = port === 443 ? `https://${fqdn}` : `https://${fqdn}:${port}`;
  upsert(doc, 'clusters', {
    name: fqdn,
    cluster: { server, 'certificate-authority-data': Buffer.from(authorities.join('')).toString('base64') },
  });
  upsert(doc, 'users', { name: fqdn, user: { token: NO_CREDENTIAL_TOKEN } });
  upsert(doc, 'contexts', { name: fqdn, context: { cluster: fqdn, user: fqdn } });
  doc['current-context'] = fqdn;
  return server;
}

/**
 * A context for an API server on a private subnet reached through a subnet router: its own
 * address (`server`), the CA and user of an existing context (`from`), so the user's own
 * credentials are used, referenced by name and never copied.
 */
export function addSubnetContext(doc: KubeconfigDoc, name: string, server: string, from: string): void {
  const source = find<'context'>(doc, 'contexts', from);
  if (!source) {
    const known = (doc.contexts ?? []).map((c) => c.name).join(', ') || 'none';
    throw new KubeconfigError(
      'kubeconfig.unknown_context',
      `no context "${from}" in the kubeconfig (it has: ${known})`,
    );
  }
  const clusterName = String(source.context.cluster ?? '');
  const user = source.context.user;
  const cluster = find<'cluster'>(doc, 'clusters', clusterName);
  if (!cluster || typeof user !== 'string') {
    throw new KubeconfigError(
      'kubeconfig.unknown_context',
      `context "${from}" names no cluster and user this kubeconfig has; fix it with kubectl config first`,
    );
  }
  // The CA and server name stay the cluster's own: the subnet route changes the path, not who answers.
  const { server: _old, ...trust } = cluster.cluster;
  upsert(doc, 'clusters', { name, cluster: { ...trust, server } });
  upsert(doc, 'contexts', { name, context: { ...source.context, cluster: name, user } });
  doc['current-context'] = name;
}
