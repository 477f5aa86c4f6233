import { readText } from './upstream.ts';

/**
 * The certificate the proxy serves to kubectl, for its mesh name: from files (--tls-cert,
 * --tls-key, read again on SIGHUP), or by default from the mesh CA through the local agent,
 * which keeps it renewed (meshServingCert).
 */
export interface ServingCertificate {
  load(): { cert: string; key: string };
}

export function fileServingCert(certPath: string, keyPath: string): ServingCertificate {
  return {
    load: () => ({
      cert: readText(certPath, 'the serving certificate'),
      key: readText(keyPath, 'the serving key'),
    }),
  };
}

/**
 * The agent's certificate for this node's mesh name, and the names of the mesh services it serves
 * (issued by the coordination server's CA,
 * which `trellis kubeconfig` embeds for kubectl). `refresh()` asks again; the agent answers with
 * the same certificate until it renews it, so calling it after `renewAfter` picks up the new one.
 */
export async function meshServingCert(
  agent: {
    certificate(names?: string[]): Promise<{ certificate: string; key: string; renewAfter: string }>;
  },
  /** Fully qualified names; absent: the node's own mesh name. A replica adds its services' names. */
  names?: string[],
): Promise<ServingCertificate & { refresh(): Promise<number> }> {
  let current = await agent.certificate(names);
  return {
    load: () => ({ cert: current.certificate, key: current.key }),
    refresh: async () => {
      current = await agent.certificate(names);
      return Date.parse(current.renewAfter);
    },
  };
}
