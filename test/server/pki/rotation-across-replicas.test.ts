import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CertificateKeeper, type KeptCertificate } from '../../../client/certs/certificate-keeper.ts';
import { listOf } from '../../../protocol/admin.ts';
import { AuthorityView } from '../../../protocol/pki.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { TestAgent } from '../../support/server.ts';
import { startReplica, type InProcessReplica } from '../replication/replicas.ts';

const NAME = 'kube-proxy.mesh.trellis.internal';

/** Whether a client trusting `bundle` (as a kubeconfig's certificate-authority-data) accepts `served` for NAME. */
async function accepts(served: KeptCertificate, bundle: readonly string[]): Promise<boolean> {
  const server = createServer({ key: served.key, cert: served.certificate }, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: NAME, ca: [...bundle] }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  } finally {
    server.close();
  }
}

/**
 * A rotation started on one replica, seen through another: the Kubernetes proxy's agent gets its
 * certificate and the trust bundle (what `trellis kubeconfig` embeds) from replica b, while the
 * operator drives the rotation on replica a.
 */
describeWith([hasCommand('openssl')], 'a CA rotation across replicas, as the kube proxy and kubectl see it', () => {
  let dir: string;
  let store: Store;
  let a: InProcessReplica;
  let b: InProcessReplica;
  let proxy: TestAgent;
  let keeper: CertificateKeeper;
  // The agent's clock: its renewal time comes without waiting a day for it.
  let ahead = 0;
  const bundleFromB = async () => (await proxy.control.authorities()).authorities;
  /** The fingerprint of the CA in `bundle` that signed the certificate. */
  const issuer = (kept: KeptCertificate, bundle: readonly string[]) => {
    const leaf = new X509Certificate(kept.certificate);
    return bundle.map((p) => new X509Certificate(p)).find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
      ?.fingerprint256;
  };
  const list = async (r: InProcessReplica) =>
    listOf(AuthorityView).parse((await r.admin('GET', '/api/v1/authorities')).body).items;
  /** Until `check` holds: replica b learns of a's changes through the change log, within its poll. */
  const eventually = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await check()).toBe(true);
  };
  /** What the proxy serves once its agent's renewal time has come. */
  const renewed = async (current: KeptCertificate) => {
    ahead += current.renewAfter - Date.now() + 1000;
    return keeper.get([NAME]);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-ca-replicas-'));
    store = createSqliteStore(join(dir, 'trellis.db'));
    a = await startReplica('a', store);
    b = await startReplica('b', store);
    const key = await a.admin<{ secret: string }>('POST', '/api/v1/preauth-keys', { tags: ['tag:k8s-proxy'] });
    proxy = new TestAgent(b.url, 'kube-proxy');
    await proxy.join(key.body.secret);
    // The agent's own keeper, over the node's control client: the path `trellis kube-proxy` uses.
    keeper = new CertificateKeeper({
      server: () => proxy.control,
      logger: pino({ level: 'silent' }),
      now: () => Date.now() + ahead,
    });
  });
  afterAll(async () => {
    proxy?.stop();
    await b?.stop();
    await a?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the new CA on every replica at once, signs with the old one through the overlap, and switches on finish', async () => {
    const before = await bundleFromB(); // a kubeconfig written before the rotation
    expect(before).toHaveLength(1);
    const first = await keeper.get([NAME]);
    expect(await accepts(first, before)).toBe(true);

    const rotated = await a.admin<AuthorityView>('POST', '/api/v1/authorities/rotate', { graceSeconds: 86_400 });
    expect(rotated.status).toBe(201);
    const next = AuthorityView.parse(rotated.body);
    // Replica b reloads its CAs from the change log: its bundle carries both, the new one first.
    await eventually(async () => (await bundleFromB()).length === 2);
    const during = await bundleFromB(); // a kubeconfig written during the overlap
    expect(new X509Certificate(during[0]!).fingerprint256).toBe(next.fingerprint);
    expect(during[1]).toBe(before[0]);

    // Through the overlap b still signs with the old CA: kubeconfigs from before keep working.
    const overlap = await renewed(first);
    expect(overlap.certificate).not.toBe(first.certificate);
    expect(issuer(overlap, during)).toBe(new X509Certificate(before[0]!).fingerprint256);
    expect(overlap.authorities).toEqual(during);
    expect(await accepts(overlap, before)).toBe(true);
    expect(await accepts(overlap, during)).toBe(true);

    const early = await a.admin<{ code: string }>('POST', '/api/v1/authorities/finish', {});
    expect(early).toMatchObject({ status: 409, body: { code: 'pki.overlap_not_over' } });
    const finished = await a.admin<AuthorityView>('POST', '/api/v1/authorities/finish', { force: true });
    expect(finished.status).toBe(200);
    await eventually(async () => (await list(b))[0]?.state === 'signing');

    // The proxy's next certificate comes from the new CA; the old one is still trusted until
    // the last leaf it signed ends, which is after the proxy renewed.
    const [signing, retired] = await list(b);
    expect(signing).toMatchObject({ id: next.id, state: 'signing' });
    expect(retired).toMatchObject({ state: 'retired', inBundle: true });
    expect(Date.parse(retired!.trustedUntil)).toBeGreaterThanOrEqual(overlap.notAfter);
    expect(overlap.renewAfter).toBeLessThan(Date.parse(retired!.trustedUntil));

    const after = await renewed(overlap);
    expect(issuer(after, during)).toBe(next.fingerprint);
    expect(after.authorities).toEqual(during);
    expect(await accepts(after, during)).toBe(true);
    // Why the overlap exists: a kubeconfig that never got the new CA refuses the proxy now.
    expect(await accepts(after, before)).toBe(false);
  });

  it('starts one of two rotations asked of both replicas at once, and audits its lapse once', async () => {
    const answers = await Promise.all(
      [a, b].map((r) => r.admin<{ code?: string }>('POST', '/api/v1/authorities/rotate', { graceSeconds: 2 })),
    );
    expect(answers.map((x) => x.status).sort()).toEqual([201, 409]);
    expect(answers.find((x) => x.status === 409)?.body.code).toBe('pki.rotation_pending');
    const started = AuthorityView.parse(answers.find((x) => x.status === 201)!.body);
    await eventually(async () => (await list(b))[0]?.id === started.id);

    // Nobody finishes it: both replicas wait for the grace period, one of them writes it down.
    await eventually(async () => (await store.authorities.list()).every((x) => !x.rotating));
    await new Promise((r) => setTimeout(r, 500)); // the other replica's look, too
    const audit = await b.admin<{ items: { actor: string; code: string; message: string }[] }>(
      'GET',
      '/api/v1/audit?kind=pki.rotation',
    );
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ actor: 'system', code: 'pki.grace_lapsed' });
    expect(audit.body.items[0]!.message).toContain(started.fingerprint);
    const [signing, retired] = await list(a);
    expect(signing).toMatchObject({ id: started.id, state: 'signing', signsFrom: started.signsFrom });
    expect(retired).toMatchObject({ state: 'retired', retiredAt: started.signsFrom });
    await expect(a.admin('POST', '/api/v1/authorities/finish', {})).resolves.toMatchObject({
      status: 409,
      body: { code: 'pki.no_rotation' },
    });
  });
});
