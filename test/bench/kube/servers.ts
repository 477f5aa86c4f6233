import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { AuditReporter } from '../../../client/kube-proxy/audit-reporter.ts';
import { RESOURCES } from '../../support/kube-apiserver/objects.ts';
import { createTestCa, issueTestCert } from '../../support/test-ca.ts';
import { startProxy, startStandIn } from '../../client/kube-proxy/loopback-proxy.ts';

/**
 * The benchmark's servers, each in a process of its own as in a real deployment (and apart from
 * the load generator's event loop): `servers.ts api DIR` runs the stand-in API server with 100
 * configmaps to list and writes the CA, serving pair and proxy kubeconfig into DIR;
 * `servers.ts proxy DIR` runs the proxy in front of it (the loopback suites' fixture). Each prints
 * one JSON line once it listens, then runs until killed.
 */
const [role, dir] = process.argv.slice(2) as ['api' | 'proxy', string];
let close: () => Promise<void>;
if (role === 'api') {
  const ca = createTestCa();
  const serving = issueTestCert(ca, { ips: ['127.0.0.1'] });
  writeFileSync(join(dir, 'serving.json'), JSON.stringify(serving));
  const api = await startStandIn(dir, ca.cert, serving);
  for (let i = 0; i < 100; i++)
    api.store.create(RESOURCES[2]!, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `bench-${String(i).padStart(3, '0')}`, namespace: 'default', labels: { app: 'bench' } },
      data: { index: String(i), text: 'x'.repeat(200) },
    });
  process.stdout.write(`${JSON.stringify({ url: api.url, ca: ca.cert })}\n`);
  close = () => api.close();
} else {
  const serving = JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as { cert: string; key: string };
  // As `trellis kube-proxy` runs it: the real audit reporter (its agent here only counts the
  // batches it is handed) and a synchronous pino log at the CLI's default level, to a file.
  const logger = pino({ level: 'info', base: { service: 'kube-proxy' } }, pino.destination(join(dir, 'proxy.log')));
  const audit = new AuditReporter({ reportAudit: async () => undefined }, logger);
  audit.start();
  const proxy = await startProxy('auth', join(dir, 'upstream.kubeconfig'), serving, audit, logger);
  process.stdout.write(`${JSON.stringify({ url: proxy.url })}\n`);
  close = async () => {
    await proxy.close();
    await audit.stop();
  };
}
process.once('SIGTERM', () => void close().then(() => process.exit(0)));
