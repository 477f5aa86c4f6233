import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalApiClient } from '../../../../client/agent/local-api/client.ts';
import { certCommand } from '../../../../client/cli/cert.ts';
import { kubeconfigCommand } from '../../../../client/cli/kubeconfig.ts';
import { newKeyAndRequest } from '../../../../client/certs/key-and-request.ts';
import { NO_CREDENTIAL_TOKEN } from '../../../../client/kubeconfig/contexts.ts';
import { startLocalAgent, type LocalAgent } from '../../../support/local-agent.ts';
import { describeWith, hasCommand } from '../../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../../support/server.ts';

const PROXY = 'kube-proxy.mesh.trellis.internal';

/**
 * `trellis kubeconfig` and `trellis cert` through a real agent's local API, and the context it
 * writes used by the real kubectl against a TLS server holding the proxy's certificate
 * (`--server`/`--tls-server-name` stand in for the mesh DNS that would resolve the name).
 */
describeWith(
  [hasCommand('openssl'), hasCommand('kubectl', 'kubernetes-client')],
  'trellis kubeconfig and trellis cert',
  () => {
    let server: TestServer;
    let dir: string;
    let local: LocalAgent;
    let proxy: TestAgent;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kt-cli-'));
      server = await startTestServer();
      proxy = new TestAgent(server.url, 'kube-proxy');
      await proxy.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
      proxy.connect();
      local = await startLocalAgent(dir);
      const client = new LocalApiClient(local.socketPath);
      await client.up({
        serverUrl: server.url,
        credential: { type: 'preauth-key', key: await server.preAuthKey() },
        hostname: 'laptop',
        waitMs: 0,
      });
      const deadline = Date.now() + 10_000;
      while (!(await client.status()).peers.some((p) => p.name === 'kube-proxy')) {
        if (Date.now() > deadline) throw new Error('the proxy never showed up in the laptop map');
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    afterAll(async () => {
      proxy?.stop();
      await local?.api.close();
      await local?.agent.stop();
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('writes a context that kubectl uses to verify the proxy, sending no credential', async () => {
      const file = join(dir, 'kubeconfig');
      expect(await kubeconfigCommand(['kube-proxy', '--socket', local.socketPath, '--kubeconfig', file])).toBe(0);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const { key, csr } = await newKeyAndRequest();
      const issued = await proxy.control.certificate({ csr, names: [PROXY] });
      const seen: Array<string | undefined> = [];
      const tls: Server = createServer({ cert: issued.certificate, key }, (req, res) => {
        seen.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"major":"1","minor":"32"}');
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      try {
        const args = ['--kubeconfig', file, '--server', `https://127.0.0.1:${(tls.address() as AddressInfo).port}`];
        args.push('--tls-server-name', PROXY, '--request-timeout', '10s', 'get', '--raw', '/version');
        const out = await new Promise<string>((resolve) => {
          const child = execFile(
            'kubectl',
            args,
            { env: { PATH: process.env.PATH, HOME: dir } },
            (err, stdout, stderr) => resolve(err ? `error: ${stderr}` : stdout),
          );
          child.stdin?.end();
        });
        expect(out).toContain('"minor":"32"');
        expect(seen.length).toBeGreaterThan(0);
        expect(new Set(seen)).toEqual(new Set([`Bearer ${NO_CREDENTIAL_TOKEN}`])); // the placeholder, which the proxy drops
      } finally {
        tls.closeAllConnections();
        tls.close();
      }
    });

    it('refuses a name that is no peer of this node', async () => {
      await expect(
        kubeconfigCommand(['nope', '--socket', local.socketPath, '--kubeconfig', join(dir, 'other')]),
      ).rejects.toMatchObject({ code: 'kubeconfig.unknown_name', message: expect.stringContaining('kube-proxy') });
    });

    it('refuses --server to an address no peer routes', async () => {
      await expect(
        kubeconfigCommand([
          'prod',
          '--socket',
          local.socketPath,
          '--kubeconfig',
          join(dir, 'other'),
          '--server',
          'https://10.9.9.9:6443',
          '--from-context',
          'prod',
        ]),
      ).rejects.toMatchObject({ code: 'kubeconfig.no_route' });
    });

    it("writes this node's own certificate and key for a local service", async () => {
      const certFile = join(dir, 'tls.crt');
      const keyFile = join(dir, 'tls.key');
      const caFile = join(dir, 'ca.crt');
      const args = ['--socket', local.socketPath, '--cert-file', certFile, '--key-file', keyFile, '--ca-file', caFile];
      expect(await certCommand(args)).toBe(0);
      const cert = new X509Certificate(readFileSync(certFile));
      expect(cert.subjectAltName).toBe('DNS:laptop.mesh.trellis.internal');
      expect(cert.verify(new X509Certificate(readFileSync(caFile)).publicKey)).toBe(true);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      await expect(certCommand([...args, PROXY])).rejects.toMatchObject({ code: 'pki.name_not_allowed' });
    });
  },
);
