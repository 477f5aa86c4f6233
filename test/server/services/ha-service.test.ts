import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKeyAndRequest } from '../../../client/certs/key-and-request.ts';
import { ServiceDirectory } from '../../../server/services/service-directory.ts';
import type { Peer } from '../../../protocol/node.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const DOMAIN = 'mesh.trellis.internal';
const SERVICES = [{ name: 'kube', servedBy: ['tag:k8s-proxy'] }];
const [KUBE] = new ServiceDirectory(SERVICES, '100.64.0.0/10', 'fd7a:115c:a1e0::/48').services;

/**
 * Two replicas behind one mesh name: each advertises the service's address pair as routes,
 * approved for them by the service's servedBy tags; the route election gives the pair to one
 * replica, and the other takes it over when the first goes away.
 */
describeWith([hasCommand('openssl')], 'a mesh service with two replicas', () => {
  let server: TestServer;
  let laptop: TestAgent;
  const replicas: TestAgent[] = [];

  /** The laptop's peers that carry the service's addresses, by name. */
  const carriers = (agent: TestAgent) =>
    [...agent.map.peers.values()]
      .filter((p: Peer) => KUBE!.prefixes.every((r) => p.allowedIPs.includes(r)))
      .map((p) => p.name);

  beforeAll(async () => {
    server = await startTestServer({ services: SERVICES });
    for (const name of ['kube-proxy-0', 'kube-proxy-1']) {
      const replica = new TestAgent(server.url, name);
      await replica.join(await server.preAuthKey({ tags: ['tag:k8s-proxy'] }), { advertiseRoutes: KUBE!.prefixes });
      replicas.push(replica.connect());
    }
    laptop = new TestAgent(server.url, 'laptop');
    await laptop.join(await server.preAuthKey());
    laptop.connect();
    await laptop.until((a) => a.peerNames().includes('kube-proxy-1'), 'both replicas');
  });
  afterAll(async () => {
    for (const r of replicas) r.stop();
    laptop?.stop();
    await server?.stop();
  });

  it("puts the service's name and addresses in every node's mesh DNS", () => {
    expect(laptop.map.dns?.services).toEqual([{ name: 'kube', addresses: [KUBE!.ipv4, KUBE!.ipv6] }]);
    expect(KUBE!.ipv4.startsWith('100.127.')).toBe(true); // the top of the range; nodes start at the bottom
  });

  it("approves the service's addresses for its replicas, and routes them to exactly one", async () => {
    for (const r of replicas) expect(r.node!.approvedRoutes).toEqual([...KUBE!.prefixes].sort());
    await laptop.until((a) => carriers(a).length === 1, 'one carrier');
    expect(carriers(laptop)).toEqual(['kube-proxy-0']); // the oldest eligible replica wins
  });

  it('does not approve them for a node the service does not name', async () => {
    const intruder = new TestAgent(server.url, 'intruder');
    const node = await intruder.join(await server.preAuthKey({ tags: ['tag:other'] }), {
      advertiseRoutes: KUBE!.prefixes,
    });
    expect(node.approvedRoutes).toEqual([]);
  });

  it('moves the service to the other replica when the carrier goes away', async () => {
    replicas[0]!.stop();
    await laptop.until((a) => carriers(a).join() === 'kube-proxy-1', 'the standby taking over', 10_000);
  });

  it('gives the service to every node the policy lets reach its replicas, though no grant names its address', async () => {
    await server.setPolicy(`{
      "tagOwners": { "tag:k8s-proxy": [], "tag:other": [] },
      "grants": [{ "src": ["autogroup:member"], "dst": ["tag:k8s-proxy"], "ip": ["tcp:443"] }],
    }`);
    await laptop.until(
      (a) => a.peerNames().includes('kube-proxy-1') && !a.peerNames().includes('intruder'),
      'the policy in force',
    );
    expect(carriers(laptop)).toEqual(['kube-proxy-1']);
  });

  it('gives a certificate for the service name to its replicas only', async () => {
    const { csr } = await newKeyAndRequest();
    const names = [`kube.${DOMAIN}`, `kube-proxy-1.${DOMAIN}`];
    const issued = await replicas[1]!.control.certificate({ csr, names });
    expect(issued.names).toEqual(names);
    await expect(laptop.control.certificate({ csr, names: [`kube.${DOMAIN}`] })).rejects.toMatchObject({
      code: 'pki.name_not_allowed',
    });
  });

  it('gives a node that happens to be named like the service no certificate for that name', async () => {
    const squatter = new TestAgent(server.url, 'kube');
    const node = await squatter.join(await server.preAuthKey());
    expect(node.name).toBe('kube');
    const { csr } = await newKeyAndRequest();
    await expect(squatter.control.certificate({ csr, names: [`kube.${DOMAIN}`] })).rejects.toMatchObject({
      code: 'pki.name_not_allowed',
    });
  });
});
