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
const LEAF_SECONDS = 6 * 3600;

describeWith([hasCommand('openssl')], 'rotating the mesh CA', () => {
  let store: Store;
  let clock: number;
  let authority: CertificateAuthority;
  let service: CertificateService;
  const logger = pino({ level: 'silent' });
  const node: NodeRecord = {
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
  };
  const open = async () => {
    authority = await CertificateAuthority.open({
      store,
      domain: DOMAIN,
      authorityDays: 30,
      certificateSeconds: LEAF_SECONDS,
      logger,
      now: () => clock,
    });
    service = new CertificateService({
      authority,
      audit: new AuditLog(store, logger, () => clock),
      domain: DOMAIN,
      certificateSeconds: LEAF_SECONDS,
      issuesPerHour: 100,
      now: () => clock,
    });
  };
  const issue = async () => {
    const { csr } = await newKeyAndRequest();
    return new X509Certificate(
      (await service.issue(node, { csr, names: [`kube-proxy-0.${DOMAIN}`] }, '::1')).certificate,
    );
  };
  const bundle = () => service.bundle().authorities.map((pem) => new X509Certificate(pem));
  const issuer = (leaf: X509Certificate) => bundle().find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));

  beforeEach(async () => {
    store = createSqliteStore(':memory:');
    clock = Date.now();
    await open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('trusts the new CA at once but keeps signing with the old one until the grace period ends', async () => {
    const [old] = bundle();
    const added = await authority.rotate(2 * HOUR);
    expect(added.state).toBe('pending');
    expect(bundle()).toHaveLength(2);
    expect(bundle()[0]!.toString()).toBe(added.certificate);
    expect(issuer(await issue())?.fingerprint256).toBe(old!.fingerprint256);

    clock += 2 * HOUR;
    expect(authority.status().map((a) => a.state)).toEqual(['signing', 'retired']);
    const after = await issue();
    expect(issuer(after)?.toString()).toBe(added.certificate);
    expect(after.checkIssued(old!)).toBe(false);
    expect(bundle()).toHaveLength(2); // the old CA's last leaves are still alive
  });

  it('drops a retired CA from the bundle once the last certificate it signed has expired', async () => {
    const [old] = bundle();
    clock += HOUR;
    const lastOld = await issue();
    await authority.rotate(0);
    expect(authority.status().map((a) => a.state)).toEqual(['signing', 'retired']);
    const lastOldEnd = Date.parse(lastOld.validTo);

    clock = lastOldEnd - 1000;
    expect(bundle().map((c) => c.fingerprint256)).toContain(old!.fingerprint256);
    clock = lastOldEnd + 1000;
    expect(bundle().map((c) => c.fingerprint256)).not.toContain(old!.fingerprint256);
    expect(bundle()).toHaveLength(1);
    expect(authority.status().map((a) => a.state)).toEqual(['signing', 'expired']);
  });

  it('lets the second phase switch before the grace period ends only when forced, and keeps the switch across a restart', async () => {
    // A switch in the same millisecond as the first CA's creation would tie them in the store's
    // newest-first order; a real rotation comes later.
    clock += HOUR;
    const added = await authority.rotate(24 * HOUR);
    await expect(authority.rotate(HOUR)).rejects.toMatchObject({ code: 'pki.rotation_pending' });
    await expect(authority.finish()).rejects.toMatchObject({ code: 'pki.overlap_not_over' });
    expect(authority.status().map((a) => a.state)).toEqual(['pending', 'signing']);
    const switched = await authority.finish(true);
    expect(switched).toMatchObject({ id: added.id, state: 'signing' });
    await expect(authority.finish(true)).rejects.toMatchObject({ code: 'pki.no_rotation' });

    await open(); // a restart (or another replica) reads the same state from the store
    expect(authority.status().map((a) => a.state)).toEqual(['signing', 'retired']);
    expect(issuer(await issue())?.toString()).toBe(added.certificate);
  });

  it('writes the switch down when finished after the grace period, which it was already by the clock', async () => {
    clock += HOUR;
    const [old] = authority.status();
    const added = await authority.rotate(HOUR);
    clock += HOUR;
    expect(authority.status().map((a) => [a.state, a.retiredAt])).toEqual([
      ['signing', undefined],
      ['retired', added.signsFrom],
    ]);
    expect((await store.authorities.list()).find((a) => a.id === old!.id)?.retiredAt).toBeUndefined();
    expect(await authority.finish()).toMatchObject({ id: added.id, state: 'signing', signsFrom: added.signsFrom });
    expect((await store.authorities.list()).find((a) => a.id === old!.id)?.retiredAt).toBe(added.signsFrom);
    await expect(authority.finish()).rejects.toMatchObject({ code: 'pki.no_rotation' });
  });
});
