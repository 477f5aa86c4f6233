import { RESOURCES } from '../../support/kube-apiserver/objects.ts';
import { startLoopbackProxy } from '../../client/kube-proxy/loopback-proxy.ts';

/**
 * The benchmark's servers, in a process of their own so that the load generator does not share
 * their event loop: the stand-in API server and the proxy in front of it on loopback (the same
 * fixture the proxy's loopback suites use), 100 configmaps to list. Prints one JSON line with the
 * URLs and the CA, then runs until killed.
 */
const p = await startLoopbackProxy('auth');
for (let i = 0; i < 100; i++)
  p.api.store.create(RESOURCES[2]!, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `bench-${String(i).padStart(3, '0')}`, namespace: 'default', labels: { app: 'bench' } },
    data: { index: String(i), text: 'x'.repeat(200) },
  });
process.stdout.write(`${JSON.stringify({ apiUrl: p.api.url, proxyUrl: p.url, ca: p.ca })}\n`);
process.once('SIGTERM', () => void p.close().then(() => process.exit(0)));
