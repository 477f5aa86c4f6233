import { readText } from './upstream.ts';

/**
 * The certificate the proxy serves to kubectl, for its mesh name. Today it comes from files
 * (--tls-cert, --tls-key), read again on SIGHUP so a renewed certificate needs no restart;
 * a source that asks the coordination server's CA for one fits the same shape.
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
