import { X509Certificate, createPrivateKey } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CertificateKeeper } from '../../../client/certs/certificate-keeper.ts';
import type { ControlClient } from '../../../client/control/control-client.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const NAME = 'kube-proxy.mesh.trellis.internal';

describeWith([hasCommand('openssl')], "the agent's certificate keeper", () => {
  let server: TestServer;
  let proxy: TestAgent;
  beforeAll(async () => {
    server = await startTestServer();
    proxy = new TestAgent(server.url, 'kube-proxy');
    await proxy.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const keeper = (clock: { t: number }, control: () => ControlClient | undefined = () => proxy.control) =>
    new CertificateKeeper({ server: control, logger: pino({ level: 'silent' }), now: () => clock.t });

  it('fetches a certificate with a fresh key, then hands out the same one until a third of its life is left', async () => {
    const clock = { t: Date.now() };
    const k = keeper(clock);
    const first = await k.get([NAME]);
    expect(new X509Certificate(first.certificate).checkPrivateKey(createPrivateKey(first.key))).toBe(true);
    expect(first.renewAfter).toBe(first.notAfter - (first.notAfter - first.notBefore) / 3);
    clock.t = first.renewAfter - 1;
    expect(await k.get([NAME])).toBe(first);
    clock.t = first.renewAfter + 1;
    await k.renewDue();
    const renewed = await k.get([NAME]);
    expect(renewed.certificate).not.toBe(first.certificate);
    expect(renewed.key).not.toBe(first.key); // a new key with every certificate
  });

  it('keeps a still-valid certificate while the server is away, and refuses once it has ended', async () => {
    const clock = { t: Date.now() };
    let reachable = true;
    const k = keeper(clock, () =>
      reachable
        ? proxy.control
        : ({
            certificate: () => Promise.reject(new Error('server away')),
            authorities: () => Promise.reject(new Error('server away')),
          } as unknown as ControlClient),
    );
    const first = await k.get([NAME]);
    reachable = false;
    clock.t = first.renewAfter + 1;
    await k.renewDue(); // logs, keeps the old one
    expect(await k.get([NAME])).toBe(first);
    clock.t = first.notAfter + 1;
    await expect(k.get([NAME])).rejects.toThrow('server away');
  });

  it('passes on the server refusing a name', async () => {
    const k = keeper({ t: Date.now() });
    await expect(k.get(['laptop.mesh.trellis.internal'])).rejects.toMatchObject({ code: 'pki.name_not_allowed' });
  });

  it('says so when the node has no server to ask', async () => {
    await expect(keeper({ t: Date.now() }, () => undefined).get([NAME])).rejects.toMatchObject({
      code: 'agent.not_logged_in',
    });
  });
});
