import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKeyAndRequest } from '../../../client/certs/key-and-request.ts';
import { signLeaf } from '../../../server/pki/sign-leaf.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const NAME = 'kube-proxy.mesh.trellis.internal';
const HOUR = 3600_000;

/**
 * The trust a kubeconfig from `trellis kubeconfig` rests on, checked by the real kubectl (Go's
 * crypto/x509): the mesh CA embedded as certificate-authority-data, a TLS server on loopback
 * presenting a certificate, and `tls-server-name` standing in for the mesh name that the
 * agent's DNS would resolve. kubectl must accept the certificate the server issued for that
 * name, and nothing else.
 */
describeWith(
  [hasCommand('openssl'), hasCommand('kubectl', 'kubernetes-client')],
  'kubectl trusting the mesh CA',
  () => {
    let server: TestServer;
    let ca: string;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kt-kubectl-'));
      server = await startTestServer();
      const proxy = new TestAgent(server.url, 'kube-proxy');
      await proxy.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
      [ca] = (await proxy.control.authorities()).authorities as [string];
    });
    afterAll(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** kubectl `get --raw /version` against a TLS server presenting `cert`; its output or its error. */
    async function kubectlAgainst(cert: string, key: string, serverName = NAME): Promise<string> {
      const tls: Server = createServer({ cert, key }, (_req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"major":"1","minor":"32","gitVersion":"v1.32.0"}');
      });
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      const port = (tls.address() as AddressInfo).port;
      const kubeconfig = join(dir, `config-${port}`);
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'mesh',
              cluster: {
                server: `https://127.0.0.1:${port}`,
                'tls-server-name': serverName,
                'certificate-authority-data': Buffer.from(ca).toString('base64'),
              },
            },
          ],
          // As `trellis kubeconfig` writes it: a placeholder token, since kubectl asks for a password otherwise.
          users: [{ name: 'mesh', user: { token: 'mesh-identity' } }],
          contexts: [{ name: 'mesh', context: { cluster: 'mesh', user: 'mesh' } }],
          'current-context': 'mesh',
        }),
      );
      try {
        return await new Promise<string>((resolve) => {
          execFile(
            'kubectl',
            ['--kubeconfig', kubeconfig, '--request-timeout', '10s', 'get', '--raw', '/version'],
            { env: { PATH: process.env.PATH, HOME: dir } },
            (err, stdout, stderr) => resolve(err ? `error: ${stderr}` : stdout),
          );
        });
      } finally {
        tls.closeAllConnections();
        await new Promise<void>((resolve) => tls.close(() => resolve()));
      }
    }

    const signed = async (names: string[], notBefore: number, notAfter: number) => {
      const { key, csr } = await newKeyAndRequest();
      const [authority] = await server.server.store.authorities.list();
      return { key, cert: (await signLeaf(authority!, { csr, names, notBefore, notAfter })).pem };
    };

    it('accepts the certificate the server issued for the mesh name', async () => {
      const proxy = new TestAgent(server.url, 'kube-proxy-2');
      await proxy.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
      const { key, csr } = await newKeyAndRequest();
      const issued = await proxy.control.certificate({ csr, names: ['kube-proxy-2.mesh.trellis.internal'] });
      expect(await kubectlAgainst(issued.certificate, key, 'kube-proxy-2.mesh.trellis.internal')).toContain(
        '"gitVersion":"v1.32.0"',
      );
    });

    it('refuses a certificate for another mesh name', async () => {
      const { key, cert } = await signed(['laptop.mesh.trellis.internal'], Date.now() - HOUR, Date.now() + HOUR);
      expect(await kubectlAgainst(cert, key)).toMatch(/x509: certificate is valid for laptop\.mesh\.trellis\.internal/);
    });

    it('refuses an expired certificate from the mesh CA', async () => {
      const { key, cert } = await signed([NAME], Date.now() - 3 * HOUR, Date.now() - HOUR);
      expect(await kubectlAgainst(cert, key)).toMatch(/x509: certificate has expired or is not yet valid/);
    });

    it('refuses a forged certificate for the right name from another CA', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const keyFile = join(dir, 'forged-key.pem');
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const cert = await new Promise<string>((resolve, reject) =>
        execFile(
          'openssl',
          [
            'req',
            '-x509',
            '-key',
            keyFile,
            '-days',
            '1',
            '-subj',
            `/CN=${NAME}`,
            '-addext',
            `subjectAltName=DNS:${NAME}`,
          ],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(await kubectlAgainst(cert, key)).toMatch(/x509: certificate signed by unknown authority/);
    });

    it("refuses a name outside the mesh domain even when the CA's own key signed it (name constraints)", async () => {
      const { key, cert } = await signed(['kube.example.com'], Date.now() - HOUR, Date.now() + HOUR);
      expect(await kubectlAgainst(cert, key, 'kube.example.com')).toMatch(/not permitted by any constraint/);
    });
  },
);
