import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listOf } from '../../../protocol/admin.ts';
import { AuthorityView } from '../../../protocol/pki.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { expectRefused, send } from './requests.ts';

const HOUR = 3600_000;

describeWith([hasCommand('openssl')], 'the CA rotation admin API', () => {
  let ts: TestServer;
  let node: TestAgent;
  // The server's clock: the grace period passes without waiting for it. Nodes prove their calls
  // with the real time, so they are asked only while the two agree.
  let ahead = 0;
  const clock = () => Date.now() + ahead;
  const list = async () => listOf(AuthorityView).parse((await ts.admin('GET', '/api/v1/authorities')).body).items;
  const post = (path: string, body: unknown, key = ts.adminKey) =>
    send(ts.url, 'POST', path, {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const audit = async () =>
    (
      await ts.admin<{ items: Array<{ outcome: string; code?: string; actor?: string; message: string }> }>(
        'GET',
        '/api/v1/audit?kind=admin',
      )
    ).body.items;

  beforeAll(async () => {
    ts = await startTestServer({}, undefined, clock);
    node = new TestAgent(ts.url, 'laptop');
    await node.join(await ts.preAuthKey());
  });
  afterAll(async () => {
    node?.stop();
    await ts?.stop();
  });

  it('lists the first CA as the one that signs, with the fingerprint of the certificate nodes are given', async () => {
    const [only, ...others] = await list();
    expect(others).toEqual([]);
    const [pem] = (await node.control.authorities()).authorities;
    const cert = new X509Certificate(pem!);
    expect(only).toMatchObject({ state: 'signing', inBundle: true, fingerprint: cert.fingerprint256 });
    expect(Date.parse(only!.notAfter)).toBe(Date.parse(cert.validTo));
    expect(only!.retiredAt).toBeUndefined();
  });

  it('refuses a bad grace period and unknown fields at the boundary, naming the field', async () => {
    const negative = expectRefused(
      await post('/api/v1/authorities/rotate', { graceSeconds: -1 }),
      400,
      'request.invalid_field',
    );
    expect(negative.message).toContain('graceSeconds');
    expectRefused(await post('/api/v1/authorities/rotate', { grace: 60 }), 400, 'request.unknown_field');
    expectRefused(await post('/api/v1/authorities/finish', { force: 'yes' }), 400, 'request.invalid_field');
    expect(await list()).toHaveLength(1);
  });

  it('lets a read key list the CAs but not rotate them', async () => {
    const { secret } = (await ts.admin<{ secret: string }>('POST', '/api/v1/api-keys', { scopes: ['read'] })).body;
    const listed = await send(ts.url, 'GET', '/api/v1/authorities', { headers: { authorization: `Bearer ${secret}` } });
    expect(listed.status).toBe(200);
    expectRefused(await post('/api/v1/authorities/rotate', {}, secret), 403, 'api_key.scope');
    expectRefused(await post('/api/v1/authorities/finish', { force: true }, secret), 403, 'api_key.scope');
    expect(await list()).toHaveLength(1);
  });

  it('publishes the new CA at once, refuses an early finish, and records the switch once the grace period is over', async () => {
    const [first] = await list();
    const res = await post('/api/v1/authorities/rotate', { graceSeconds: 3600 });
    expect(res.status, res.text).toBe(201);
    const added = AuthorityView.parse(res.json);
    expect(added).toMatchObject({ state: 'pending', inBundle: true });
    // It signs an hour after it was made (the certificate's own start, to the second).
    expect(Math.abs(Date.parse(added.signsFrom) - Date.parse(added.notBefore) - HOUR)).toBeLessThan(2000);
    expect((await list()).map((a) => [a.id, a.state])).toEqual([
      [added.id, 'pending'],
      [first!.id, 'signing'],
    ]);
    // Both are in the bundle a node (and so `trellis kubeconfig`) gets, the new one first.
    const bundle = (await node.control.authorities()).authorities.map((p) => new X509Certificate(p).fingerprint256);
    expect(bundle).toEqual([added.fingerprint, first!.fingerprint]);

    expectRefused(await post('/api/v1/authorities/rotate', {}), 409, 'pki.rotation_pending');
    const early = expectRefused(await post('/api/v1/authorities/finish', {}), 409, 'pki.overlap_not_over');
    expect(early.message).toContain(added.signsFrom);
    expect(early.message).toContain('--force');

    ahead += HOUR;
    const finished = await post('/api/v1/authorities/finish', {});
    expect(finished.status, finished.text).toBe(200);
    expect(AuthorityView.parse(finished.json)).toMatchObject({ id: added.id, state: 'signing' });
    const [now, old] = await list();
    expect(now).toMatchObject({ id: added.id, state: 'signing' });
    expect(old).toMatchObject({ id: first!.id, state: 'retired', retiredAt: added.signsFrom, inBundle: true });
    expectRefused(await post('/api/v1/authorities/finish', {}), 409, 'pki.no_rotation');

    // Every step, refused or done, is in the audit log with who did it and which CA.
    const events = await audit();
    const steps = events.filter((e) => e.message.includes('/api/v1/authorities/')).slice(0, 5);
    expect(steps.map((e) => [e.outcome, e.code])).toEqual([
      ['failure', 'pki.no_rotation'],
      ['success', 'POST /api/v1/authorities/finish'],
      ['failure', 'pki.overlap_not_over'],
      ['failure', 'pki.rotation_pending'],
      ['success', 'POST /api/v1/authorities/rotate'],
    ]);
    expect(steps[4]!.message).toContain(`CA ${added.id} (sha256 ${added.fingerprint}): pending`);
    expect(steps[1]!.message).toContain(`CA ${added.id} (sha256 ${added.fingerprint}): signing`);
    expect(steps[1]!.actor).toMatch(/^api-key:/);
  });

  it('switches at once with a zero grace period, and forces an early finish only when asked', async () => {
    ahead += HOUR;
    const now = AuthorityView.parse((await post('/api/v1/authorities/rotate', { graceSeconds: 0 })).json);
    expect(now.state).toBe('signing');
    ahead += HOUR;
    const next = AuthorityView.parse((await post('/api/v1/authorities/rotate', { graceSeconds: 86_400 })).json);
    const forced = await post('/api/v1/authorities/finish', { force: true });
    expect(forced.status, forced.text).toBe(200);
    expect(AuthorityView.parse(forced.json)).toMatchObject({ id: next.id, state: 'signing' });
    expect((await list()).map((a) => a.state)).toEqual(['signing', 'retired', 'retired', 'retired']);
    const [forcedEvent] = await audit();
    expect(forcedEvent!.message).toContain('forced before the grace period ended');
  });
});
