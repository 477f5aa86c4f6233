import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { newKeyAndRequest } from '../../../client/certs/key-and-request.ts';
import { AuditLog } from '../../../server/audit/audit-log.ts';
import { CertificateAuthority } from '../../../server/pki/authority.ts';
import { CertificateService } from '../../../server/pki/certificate-service.ts';
import type { NodeRecord } from '../../../server/store/records.ts';
import { createSqliteStore } from '../../../server/store/sqlite/index.ts';
import type { Store } from '../../../server/store/store.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';

const DOMAIN = 'corp.example';
const HOUR = 3600_000;

describeWith([hasCommand('openssl')], 'CertificateService', () => {
  let store: Store;
  let clock: number;
  const logger = pino({ level: 'silent' });
  const node = (over: Partial<NodeRecord> = {}): NodeRecord => ({
    id: 'n-1',
    name: 'kube-proxy-0',
    machineKey: 'm',
    wireguardKey: 'w',
    ipv4: '100.64.0.1',
    ipv6: 'fd7a:115c:a1e0::1',
    tags: ['tag:k8s-proxy'],
    endpoints: [],
    advertisedRoutes: [],
    approvedRoutes: [],
    ephemeral: false,
    createdAt: 0,
    ...over,
  });
  const service = async (over: Partial<ConstructorParameters<typeof CertificateService>[0]> = {}) =>
    new CertificateService({
      authority: await CertificateAuthority.open({
        store,
        domain: DOMAIN,
        authorityDays: 30,
        certificateSeconds: 6 * 3600,
        logger,
        now: () => clock,
      }),
      audit: new AuditLog(store, logger, () => clock),
      domain: DOMAIN,
      certificateSeconds: 6 * 3600,
      issuesPerHour: 10,
      now: () => clock,
      ...over,
    });

  beforeEach(() => {
    store = createSqliteStore(':memory:');
    clock = Date.now();
  });
  afterEach(async () => {
    await store.close();
  });

  it('issues for the configured lifetime, starting a little in the past for slow clocks', async () => {
    const { csr } = await newKeyAndRequest();
    const issued = await (await service()).issue(node(), { csr, names: [`kube-proxy-0.${DOMAIN}`] }, '127.0.0.1');
    const second = (ms: number) => Math.floor(ms / 1000) * 1000;
    expect(Date.parse(issued.notAfter)).toBe(second(clock + 6 * HOUR));
    expect(Date.parse(issued.notBefore)).toBe(second(clock - 5 * 60_000));
  });

  it("ends a certificate with the node's key expiry when that comes first", async () => {
    const { csr } = await newKeyAndRequest();
    const expiresAt = clock + HOUR;
    const issued = await (
      await service()
    ).issue(node({ expiresAt }), { csr, names: [`kube-proxy-0.${DOMAIN}`] }, '::1');
    expect(Date.parse(issued.notAfter)).toBe(Math.floor(expiresAt / 1000) * 1000);
  });

  it('issues for a service name only to a node that may serve it, and both names in one certificate', async () => {
    const { csr } = await newKeyAndRequest();
    const certificates = await service({ servedBy: (n) => (n.tags.includes('tag:k8s-proxy') ? ['kube'] : []) });
    const names = [`kube.${DOMAIN}`, `kube-proxy-0.${DOMAIN}`];
    const issued = await certificates.issue(node(), { csr, names }, '::1');
    expect(new X509Certificate(issued.certificate).subjectAltName).toBe(names.map((n) => `DNS:${n}`).join(', '));
    await expect(
      certificates.issue(node({ name: 'laptop', tags: [] }), { csr, names: [`kube.${DOMAIN}`] }, '::1'),
    ).rejects.toMatchObject({ code: 'pki.name_not_allowed' });
  });

  it('answers pki.unavailable, and starts anyway, when openssl cannot run', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let certificates: CertificateService;
    try {
      certificates = await service();
    } finally {
      process.env.PATH = saved;
    }
    expect(() => certificates.bundle()).toThrow(expect.objectContaining({ code: 'pki.unavailable' }));
    expect((await store.authorities.list()).length).toBe(0);
  });
});
