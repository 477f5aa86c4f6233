import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKeyAndRequest } from '../../../client/certs/key-and-request.ts';
import type { ControlError } from '../../../client/control/control-error.ts';
import { hasCommand, describeWith } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const DOMAIN = 'mesh.trellis.internal';

describeWith([hasCommand('openssl')], 'the mesh certificate authority', () => {
  let server: TestServer;
  let proxy: TestAgent;
  let laptop: TestAgent;
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: ControlError) => ({ code: err.code, status: err.status, message: err.message }),
    );

  beforeAll(async () => {
    server = await startTestServer({ pki: { issuesPerHour: 4 } });
    proxy = new TestAgent(server.url, 'kube-proxy');
    laptop = new TestAgent(server.url, 'laptop');
    await proxy.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
    await laptop.join(await server.preAuthKey());
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('gives a node a certificate for its own mesh name, signed by the CA it publishes', async () => {
    const { csr, key } = await newKeyAndRequest();
    const issued = await proxy.control.certificate({ csr, names: [`kube-proxy.${DOMAIN}`] });
    const leaf = new X509Certificate(issued.certificate);
    const [ca] = (await proxy.control.authorities()).authorities.map((p) => new X509Certificate(p));
    expect(leaf.verify(ca!.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca!)).toBe(true);
    expect(leaf.subjectAltName).toBe(`DNS:kube-proxy.${DOMAIN}`);
    expect(leaf.checkHost(`laptop.${DOMAIN}`)).toBeUndefined();
    expect(leaf.ca).toBe(false);
    expect(leaf.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(key)))).toBe(true);
    const lifeMs = Date.parse(issued.notAfter) - Date.parse(issued.notBefore);
    expect(lifeMs).toBeGreaterThan(24 * 3600_000); // the default day, plus the clock-skew allowance
    expect(lifeMs).toBeLessThanOrEqual(24 * 3600_000 + 5 * 60_000 + 1000);
    expect(issued.authorities).toEqual([ca!.toString()]);
  });

  it('makes the CA name-constrained to the mesh domain and unable to make another CA', async () => {
    const [pem] = (await laptop.control.authorities()).authorities;
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
    expect(text).toMatch(
      /Name Constraints: critical\s+Permitted:\s+DNS:mesh\.trellis\.internal\s+Excluded:\s+IP:0\.0\.0\.0/,
    );
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  });

  it("refuses a certificate for another node's name, and audits the refusal", async () => {
    const { csr } = await newKeyAndRequest();
    const r = await refusal(laptop.control.certificate({ csr, names: [`kube-proxy.${DOMAIN}`] }));
    expect(r).toMatchObject({ code: 'pki.name_not_allowed', status: 403 });
    expect(r.message).toContain(`laptop.${DOMAIN}`);
    const audit = await server.admin<{ items: Array<{ outcome: string; code?: string; message: string }> }>(
      'GET',
      '/api/v1/audit?kind=pki.issue&outcome=failure',
    );
    expect(audit.body.items[0]).toMatchObject({ code: 'pki.name_not_allowed' });
    expect(audit.body.items[0]!.message).toContain(`kube-proxy.${DOMAIN}`);
  });

  it('refuses names outside the mesh domain and names below a node name', async () => {
    const { csr } = await newKeyAndRequest();
    for (const name of ['laptop.example.com', `x.laptop.${DOMAIN}`, DOMAIN.replace('mesh.', 'laptop.')]) {
      expect(await refusal(laptop.control.certificate({ csr, names: [name] })), name).toMatchObject({
        code: 'pki.bad_name',
        status: 400,
      });
    }
    for (const name of ['*.mesh.trellis.internal', 'Laptop.mesh.trellis.internal', 'laptop']) {
      expect(await refusal(laptop.control.certificate({ csr, names: [name] })), name).toMatchObject({
        code: 'request.invalid_field',
      });
    }
  });

  it('refuses a request that is not a CSR, or one changed after its holder signed it', async () => {
    const names = [`laptop.${DOMAIN}`];
    expect(await refusal(laptop.control.certificate({ csr: 'hello', names }))).toMatchObject({ code: 'pki.bad_csr' });
    const { csr } = await newKeyAndRequest();
    // The same request with one byte of its subject changed: it still parses, its signature fails.
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const at = der.indexOf('trellis-node');
    der[at] = 'T'.charCodeAt(0);
    const body = der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n');
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
    const r = await refusal(laptop.control.certificate({ csr: altered, names }));
    expect(r).toMatchObject({ code: 'pki.bad_csr', status: 400 });
  });

  it('refuses a weak key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-weak-'));
    try {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      writeFileSync(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const csr = execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=x']).toString();
      const r = await refusal(laptop.control.certificate({ csr, names: [`laptop.${DOMAIN}`] }));
      expect(r).toMatchObject({ code: 'pki.weak_key', status: 400 });
      expect(r.message).toContain('rsa 1024');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('limits how many certificates one node is issued per hour', async () => {
    const worker = new TestAgent(server.url, 'worker');
    await worker.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
    const { csr } = await newKeyAndRequest();
    for (let i = 0; i < 4; i++) await worker.control.certificate({ csr, names: [`worker.${DOMAIN}`] });
    expect(await refusal(worker.control.certificate({ csr, names: [`worker.${DOMAIN}`] }))).toMatchObject({
      code: 'pki.too_many',
      status: 429,
    });
    // Another node is not held back by this one.
    await proxy.control.certificate({ csr, names: [`kube-proxy.${DOMAIN}`] });
  });

  it('audits every issue with the names, the serial and the expiry', async () => {
    const { csr } = await newKeyAndRequest();
    const issued = await laptop.control.certificate({ csr, names: [`laptop.${DOMAIN}`] });
    const audit = await server.admin<{ items: Array<{ outcome: string; nodeId?: string; message: string }> }>(
      'GET',
      '/api/v1/audit?kind=pki.issue&outcome=success&limit=1',
    );
    expect(audit.body.items[0]).toMatchObject({ nodeId: laptop.node!.id });
    expect(audit.body.items[0]!.message).toBe(
      `certificate ${issued.serial} for laptop.${DOMAIN} until ${issued.notAfter}`,
    );
  });

  it('keeps its CA across restarts', async () => {
    const before = (await laptop.control.authorities()).authorities;
    const dir = server.dataDir;
    await server.server.close();
    const again = await startTestServer({}, dir);
    try {
      const agent = new TestAgent(again.url, 'laptop', laptop.machine);
      expect((await agent.control.authorities()).authorities).toEqual(before);
    } finally {
      await again.server.close();
    }
    server = await startTestServer({}, dir);
  });
});
