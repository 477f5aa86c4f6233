import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RESOURCES } from '../../support/kube-apiserver/objects.ts';
import { startLoopbackProxy, ALICE_TOKEN, type LoopbackProxy } from './loopback-proxy.ts';
import { call, stream, until } from './requests.ts';

const ALICE = '127.0.0.2';
const BOB = '127.0.0.3';
const CI = '127.0.0.4';
const STRANGER = '127.0.0.9';
const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const REVIEW = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });

/** The proxy in auth mode: callers are who their source address says, as the API server sees them. */
describe('kube-proxy (auth mode)', () => {
  let p: LoopbackProxy;
  const whoami = async (from: string, headers: Record<string, string | string[]> = {}) => {
    const a = await call(p.url, p.ca, from, 'POST', WHOAMI, {
      body: REVIEW,
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect(a.status, a.text).toBe(201);
    return a.json.status.userInfo as { username: string; groups: string[] };
  };

  beforeAll(async () => {
    p = await startLoopbackProxy('auth');
  });
  afterAll(async () => {
    await p?.close();
  });

  it("impersonates a user's login with the groups its capability grants, on the proxy's own credential", async () => {
    expect(await whoami(ALICE)).toEqual({
      username: 'alice@example.com',
      groups: ['devs', 'viewers', 'system:authenticated'],
    });
    expect(p.api.seen.at(-1)).toMatchObject({ impersonatedBy: 'system:serviceaccount:trellis:kube-proxy' });
  });

  it("impersonates a tagged node by its name with its tags and the capability's groups, skipping unusable values", async () => {
    expect(await whoami(CI)).toEqual({
      username: 'ci-runner',
      groups: ['tag:ci', 'deployers', 'system:authenticated'],
    });
  });

  it('ignores forged credentials and impersonation headers: the request goes as the caller', async () => {
    const forged = {
      authorization: `Bearer ${ALICE_TOKEN}`,
      'impersonate-user': 'admin@example.com',
      'impersonate-group': ['system:masters', 'devs'],
      'impersonate-uid': '0',
      'impersonate-extra-scopes': 'all',
      'x-remote-user': 'admin',
      'x-forwarded-for': '10.0.0.1',
    };
    expect(await whoami(ALICE, forged)).toEqual({
      username: 'alice@example.com',
      groups: ['devs', 'viewers', 'system:authenticated'],
    });
    const refused = await call(p.url, p.ca, BOB, 'POST', WHOAMI, { body: REVIEW, headers: forged });
    expect(refused.status).toBe(403);
  });

  it('lets a caller narrow to some of its groups by impersonating itself, never widen', async () => {
    const self = { 'impersonate-user': 'alice@example.com' };
    expect(await whoami(ALICE, { ...self, 'impersonate-group': 'viewers' })).toEqual({
      username: 'alice@example.com',
      groups: ['viewers', 'system:authenticated'],
    });
    expect(await whoami(ALICE, { ...self, 'impersonate-group': ['viewers', 'system:masters'] })).toEqual({
      username: 'alice@example.com',
      groups: ['viewers', 'system:authenticated'],
    });
    expect(await whoami(ALICE, { ...self, 'impersonate-group': 'system:masters' })).toEqual({
      username: 'alice@example.com',
      groups: ['system:authenticated'],
    });
  });

  it('refuses a caller without the capability with a 403 Status naming the grant to add', async () => {
    const a = await call(p.url, p.ca, BOB, 'GET', '/api/v1/namespaces/default/pods');
    expect(a.status).toBe(403);
    expect(a.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 });
    expect(a.json.details.causes[0].reason).toBe('kube_proxy.no_capability');
    expect(a.json.message).toContain(
      'bob@example.com (node bobs-box, 127.0.0.3) holds no "trellis.dev/cap/kubernetes"',
    );
    expect(a.json.message).toContain(
      '{"src":["bob@example.com"],"dst":["tag:k8s"],"app":{"trellis.dev/cap/kubernetes":[{"impersonate":{"groups":["GROUP"]}}]}}',
    );
    expect(p.api.seen.some((s) => s.user === 'bob@example.com')).toBe(false);
  });

  it('refuses an address no node owns', async () => {
    const a = await call(p.url, p.ca, STRANGER, 'GET', '/version');
    expect(a.status).toBe(403);
    expect(a.json.details.causes[0].reason).toBe('kube_proxy.unknown_caller');
  });

  it("passes the API server's own RBAC refusals through unchanged", async () => {
    const a = await call(p.url, p.ca, ALICE, 'DELETE', '/api/v1/namespaces/default/pods/web-1');
    expect(a.status).toBe(403);
    expect(a.json.message).toBe(
      'pods "web-1" is forbidden: User "alice@example.com" cannot delete resource "pods" in API group "" in the namespace "default"',
    );
  });

  it('streams a watch: an event reaches the caller while the answer is still open', async () => {
    const list = await call(p.url, p.ca, ALICE, 'GET', '/api/v1/namespaces/default/pods');
    const lines: string[] = [];
    const w = await stream(
      p.url,
      p.ca,
      ALICE,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${list.json.metadata.resourceVersion}`,
      (l) => lines.push(l),
    );
    expect(w.status).toBe(200);
    p.api.store.create(RESOURCES[1]!, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'watched-1', namespace: 'default' },
      status: { phase: 'Running' },
    });
    const line = await until(() => lines.find((l) => l.includes('watched-1')), 'the watch event');
    expect(JSON.parse(line)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'watched-1' } } });
    w.stop();
  });

  it('streams logs -f line by line', async () => {
    const lines: string[] = [];
    const s = await stream(p.url, p.ca, ALICE, '/api/v1/namespaces/default/pods/web-1/log?follow=true', (l) =>
      lines.push(l),
    );
    await until(() => lines.length >= 3, 'three log lines');
    s.stop();
    expect(lines.slice(0, 3)).toEqual(['web-1: started', 'web-1: tick 1', 'web-1: tick 2']);
  });

  it('carries server-side apply (application/apply-patch+yaml) as the caller', async () => {
    const path = '/api/v1/namespaces/default/configmaps/applied?fieldManager=kubectl&force=true';
    const doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  color: blue\n';
    const a = await call(p.url, p.ca, CI, 'PATCH', path, {
      body: doc,
      headers: { 'content-type': 'application/apply-patch+yaml' },
    });
    expect(a.status, a.text).toBe(201);
    expect(a.json).toMatchObject({ data: { color: 'blue' } });
    expect(p.api.seen.at(-1)).toMatchObject({ user: 'ci-runner', verb: 'patch', resource: 'configmaps', status: 201 });
  });

  it('carries exec over WebSocket (v5.channel.k8s.io) both ways', async () => {
    const ws = new WebSocket(
      `${p.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/web-1/exec?command=cat&stdin=true&stdout=true`,
      ['v5.channel.k8s.io'],
      { ca: p.ca, localAddress: ALICE },
    );
    const out: Buffer[] = [];
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    ws.on('message', (d: Buffer) => out.push(d));
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });
    expect(ws.protocol).toBe('v5.channel.k8s.io');
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('through the proxy\n')]));
    ws.send(Buffer.from([255, 0]));
    await closed;
    expect(
      out
        .filter((d) => d[0] === 1)
        .map((d) => d.subarray(1).toString())
        .join(''),
    ).toBe('through the proxy\n');
    expect(
      JSON.parse(
        out
          .find((d) => d[0] === 3)!
          .subarray(1)
          .toString(),
      ),
    ).toMatchObject({ status: 'Success' });
  });

  it('audits every request, refused or carried: who, node, verb, resource, namespace, status', async () => {
    await call(p.url, p.ca, BOB, 'GET', '/api/v1/namespaces/kube-system/configmaps/x');
    await call(p.url, p.ca, ALICE, 'GET', '/api/v1/namespaces/default/pods/web-2');
    expect(p.events.at(-2)).toEqual({
      kind: 'kube.request',
      caller: { login: 'bob@example.com', nodeId: 'n-bob', nodeName: 'bobs-box', address: BOB },
      verb: 'get',
      resource: 'configmaps',
      namespace: 'kube-system',
      name: 'x',
      status: 403,
      code: 'kube_proxy.no_capability',
      mode: 'auth',
    });
    expect(p.events.at(-1)).toEqual({
      kind: 'kube.request',
      caller: { login: 'alice@example.com', nodeId: 'n-alice', nodeName: 'laptop', address: ALICE },
      groups: ['devs', 'viewers'],
      verb: 'get',
      resource: 'pods',
      namespace: 'default',
      name: 'web-2',
      status: 200,
      mode: 'auth',
    });
    expect(p.events.find((e) => e.resource === 'pods/exec')).toMatchObject({ verb: 'create', status: 101 });
  });
});

/** noauth: the proxy identifies and audits, and leaves authentication to the API server. */
describe('kube-proxy (noauth mode)', () => {
  let p: LoopbackProxy;
  beforeAll(async () => {
    p = await startLoopbackProxy('noauth');
  });
  afterAll(async () => {
    await p?.close();
  });

  it("passes the caller's own credential through, and the API server judges it", async () => {
    const mine = await call(p.url, p.ca, BOB, 'POST', WHOAMI, {
      body: REVIEW,
      headers: { authorization: `Bearer ${ALICE_TOKEN}`, 'content-type': 'application/json' },
    });
    expect(mine.status).toBe(201);
    expect(mine.json.status.userInfo.username).toBe('alice@example.com');
    const none = await call(p.url, p.ca, BOB, 'GET', '/api/v1/namespaces');
    expect(none.status).toBe(401);
    const forged = await call(p.url, p.ca, BOB, 'GET', '/api/v1/namespaces', {
      headers: { authorization: `Bearer ${ALICE_TOKEN}`, 'impersonate-user': 'admin' },
    });
    expect(forged.status).toBe(403);
    expect(forged.json.message).toContain('cannot impersonate');
    expect(p.events.at(-1)).toMatchObject({ caller: { login: 'bob@example.com' }, status: 403, mode: 'noauth' });
  });

  it('still serves mesh callers only', async () => {
    expect((await call(p.url, p.ca, STRANGER, 'GET', '/version')).status).toBe(403);
  });
});
