import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, createServer as createTlsServer } from 'node:tls';
import pino from 'pino';
import { AuditReporter } from '../../../client/kube-proxy/audit-reporter.ts';
import { RESOURCES } from '../../support/kube-apiserver/objects.ts';
import { createTestCa, issueTestCert } from '../../support/test-ca.ts';
import { startProxy, startStandIn } from '../../client/kube-proxy/loopback-proxy.ts';

/**
 * The benchmark's servers, each in a process of its own as in a real deployment (and apart from
 * the load generator's event loop): `servers.ts api DIR` runs the stand-in API server with 100
 * configmaps to list and writes the CA, serving pair, its URL and the proxy kubeconfig into DIR;
 * `servers.ts proxy DIR` runs the proxy in front of it (the loopback suites' fixture);
 * `servers.ts pipe DIR` a bare TLS relay in front of it: TLS in, TLS out, bytes copied across
 * without being read, one upstream connection per client connection: about the least a hop that
 * terminates TLS must do, so its figures are the floor the proxy's are compared with.
 * Each prints one JSON line once it listens, then runs until killed.
 */
const [role, dir] = process.argv.slice(2) as ['api' | 'proxy' | 'pipe', string];
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
  writeFileSync(join(dir, 'api-url'), api.url);
  process.stdout.write(`${JSON.stringify({ url: api.url, ca: ca.cert })}\n`);
  close = () => api.close();
} else if (role === 'pipe') {
  const serving = JSON.parse(readFileSync(join(dir, 'serving.json'), 'utf8')) as { cert: string; key: string };
  const api = new URL(readFileSync(join(dir, 'api-url'), 'utf8'));
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const server = createTlsServer({ cert: serving.cert, key: serving.key }, (down) => {
    down.setNoDelay(true);
    const up = connect({ host: api.hostname, port: Number(api.port), ca });
    up.setNoDelay(true);
    down.pipe(up);
    up.pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
  close = () => new Promise((resolve) => server.close(() => resolve()));
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
