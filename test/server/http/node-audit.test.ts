import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditPage } from '../../../protocol/audit.ts';
import type { KubeRequestEvent } from '../../../protocol/node-audit.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';
import { newMachine, signed } from './requests.ts';

/** Nodes report their services' audit events; the trail records them as that node's word. */
describe('POST /api/v1/machine/audit', () => {
  let ts: TestServer;
  let proxy: TestAgent;

  const event = (over: Partial<KubeRequestEvent> = {}): KubeRequestEvent => ({
    kind: 'kube.request',
    caller: { login: 'mia@example.com', nodeId: 'n-laptop', nodeName: 'laptop', address: '100.64.0.9' },
    groups: ['devs'],
    verb: 'list',
    resource: 'pods',
    namespace: 'default',
    status: 200,
    mode: 'auth',
    ...over,
  });
  const kubeEvents = async () => AuditPage.parse((await ts.admin('GET', '/api/v1/audit?kind=kube.request')).body).items;

  beforeAll(async () => {
    ts = await startTestServer();
    proxy = new TestAgent(ts.url, 'kube-proxy');
    await proxy.join(await ts.preAuthKey({ tags: ['tag:k8s'] }));
  });
  afterAll(async () => {
    proxy?.stop();
    await ts?.stop();
  });

  it('records each event with the caller, what was done, the status and the reporting node', async () => {
    await proxy.control.request('POST', '/api/v1/machine/audit', {
      events: [
        event(),
        event({ verb: 'create', resource: 'pods/exec', name: 'web-1', status: 403, code: 'kube.no_capability' }),
      ],
    });
    const [refused, listed] = await kubeEvents();
    expect(listed).toMatchObject({
      kind: 'kube.request',
      outcome: 'success',
      actor: 'mia@example.com',
      method: 'mesh-address',
      identity: 'node laptop',
      nodeId: 'n-laptop',
      source: '100.64.0.9',
      message: 'kube-proxy on kube-proxy: list pods in namespace default as mia@example.com with groups devs: 200',
    });
    expect(refused).toMatchObject({ outcome: 'failure', code: 'kube.no_capability' });
    expect(refused!.message).toContain('create pods/exec "web-1" in namespace default');
  });

  it('refuses a report without a machine-key proof, from an unknown machine, or malformed', async () => {
    const body = { events: [event()] };
    const before = (await kubeEvents()).length;
    const anonymous = await fetch(`${ts.url}/api/v1/machine/audit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(anonymous.status).toBe(401);
    expect((await signed(ts.url, newMachine(), 'POST', '/api/v1/machine/audit', body)).status).toBe(401);
    const m = proxy.control;
    await expect(m.request('POST', '/api/v1/machine/audit', { events: [] })).rejects.toMatchObject({ status: 400 });
    await expect(
      m.request('POST', '/api/v1/machine/audit', { events: [{ ...event(), status: 42 }] }),
    ).rejects.toMatchObject({ code: 'request.invalid_field' });
    await expect(
      m.request('POST', '/api/v1/machine/audit', { events: Array.from({ length: 101 }, () => event()) }),
    ).rejects.toMatchObject({ status: 400 });
    expect((await kubeEvents()).length).toBe(before);
  });
});
