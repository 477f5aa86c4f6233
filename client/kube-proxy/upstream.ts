import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KubeProxyError } from './errors.ts';

/**
 * The Kubernetes API server behind the proxy and the proxy's own credential for it. A bearer
 * token from a file is read again when the file changes (projected service-account tokens are
 * rotated by the kubelet), so a long-running proxy never holds an expired one.
 */
export interface Upstream {
  url: URL;
  /** PEM of the CA(s) the API server's certificate must chain to; absent: the system's. */
  ca?: string;
  /** The name the API server's certificate must carry, when not the URL's host. */
  serverName?: string;
  /** A client certificate and key (PEM), for kubeconfigs that authenticate so. */
  clientCert?: { cert: string; key: string };
  /** `Bearer ...` for each request, or undefined when the credential is the client certificate. */
  authorization(): string | undefined;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In-cluster config: KUBERNETES_SERVICE_HOST/PORT, and the pod's service-account token and CA. */
export function inClusterUpstream(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): Upstream {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host)
    throw new KubeProxyError(
      'kube_proxy.bad_kubeconfig',
      'not in a cluster (KUBERNETES_SERVICE_HOST is not set): give --kubeconfig PATH',
    );
  const url = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  return {
    url,
    ca: readText(join(dir, 'ca.crt'), 'the in-cluster CA'),
    authorization: bearerFromFile(join(dir, 'token')),
  };
}

export function bearerFromFile(path: string): () => string {
  let cached: { mtimeMs: number; size: number; header: string } | undefined;
  const read = () => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) throw new KubeProxyError('kube_proxy.bad_kubeconfig', `the token file ${path} does not exist`);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.header;
    const token = readText(path, 'the token file').trim();
    if (!token || /[\r\n]/.test(token))
      throw new KubeProxyError('kube_proxy.bad_kubeconfig', `the token file ${path} holds no single-line token`);
    cached = { mtimeMs: st.mtimeMs, size: st.size, header: `Bearer ${token}` };
    return cached.header;
  };
  read(); // a missing or empty file is a start-up error, not a first-request one
  return read;
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeProxyError(
      'kube_proxy.bad_kubeconfig',
      `cannot read ${what} ${path}: ${(err as Error).message}`,
      500,
      {
        cause: err,
      },
    );
  }
}
