import { PROTOCOL_VERSION } from '../../../protocol/version.ts';
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, TestAgent, type TestServer } from '../../support/server.ts';

const SEGMENTED = `{
  "groups": { "group:eng": ["alice@example.com"], "group:ops": ["bob@example.com"] },
  "tagOwners": { "tag:web": ["group:eng"], "tag:db": ["group:ops"] },
  "acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:web:80,443"] },
    { "action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"] },
  ],
}`;

describe('map stream', () => {
  let t: TestServer;
  const agents: TestAgent[] = [];
  const agent = (name: string) => {
    const a = new TestAgent(t.url, name);
    agents.push(a);
    return a;
  };
  const joined = async (name: string, opts: Parameters<TestServer['preAuthKey']>[0] = {}) => {
    const a = agent(name);
    await a.join(await t.preAuthKey(opts));
    return a.connect();
  };

  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await t.stop();
  });

  it('sends a full map on connect with self, peers, filter, DNS, relay settings, the mesh ranges and its protocol version', async () => {
    const a = await joined('alpha');
    const b = await joined('beta');
    await a.until((x) => x.peerNames().includes('beta'), 'beta in alpha map');
    const m = a.map;
    expect(m.self?.name).toBe('alpha');
    expect(m.self?.ipv4).toMatch(/^100\.64\./);
    expect(m.self?.ipv6).toMatch(/^fd7a:115c:a1e0::/);
    const beta = [...m.peers.values()].find((p) => p.name === 'beta')!;
    expect(beta.wireguardKey).toBe(b.wireguard.publicKey);
    expect(beta.allowedIPs).toEqual([`${b.node!.ipv4}/32`, `${b.node!.ipv6}/128`]);
    expect(m.packetFilter.length).toBeGreaterThan(0);
    expect(m.dns?.domain).toBe('mesh.trellis.internal');
    expect(m.relay).toBeDefined();
    expect(m.meshRanges).toEqual(['100.64.0.0/10', 'fd7a:115c:a1e0::/48']);
    expect(m.policyWarning).toMatch(/allow-all/);
    expect(m.serverProtocolVersion).toBe(PROTOCOL_VERSION);
  });

  it('announces a join to existing peers as a delta, and a deletion as a removal', async () => {
    const a = await joined('alpha');
    await a.until((x) => x.map.version >= 0, 'first map');
    const firstVersion = a.map.version;
    const b = await joined('beta');
    await a.until((x) => x.peerNames().includes('beta'), 'beta announced');
    expect(a.map.version).toBeGreaterThan(firstVersion);
    await b.until((x) => x.map.version >= 0, 'beta map');
    const del = await t.admin('DELETE', `/api/v1/nodes/${b.node!.id}`);
    expect(del.status).toBe(204);
    await a.until((x) => !x.peerNames().includes('beta'), 'beta removed');
    await b.until((x) => x.goodbye !== undefined, 'goodbye to beta');
    expect(b.goodbye?.code).toBe('node.deleted');
  });

  it('follows the policy: peers and filters are per node, and a policy change reaches only the affected', async () => {
    await t.server.users.create({ email: 'bob@example.com', groups: [] });
    const laptop = await joined('laptop', { user: 'alice@example.com' });
    const web = await joined('web', { tags: ['tag:web'] });
    const db = await joined('db', { tags: ['tag:db'] });
    const opsbox = await joined('opsbox', { user: 'bob@example.com' });
    await t.setPolicy(SEGMENTED);
    await laptop.until((x) => x.peerNames().join() === 'web', 'laptop sees only web');
    await web.until((x) => x.peerNames().join() === 'db,laptop', 'web sees laptop and db');
    await db.until((x) => x.peerNames().join() === 'web', 'db sees web');
    await opsbox.until(
      (x) => x.map.version >= 0 && x.peerNames().length === 0 && x.map.policyWarning === undefined,
      'opsbox sees nobody',
    );
    // web's inbound filter admits laptop on 80 and 443 only.
    const rules = web.map.packetFilter;
    const ports = rules.flatMap((r) => r.dstPorts.map((d) => `${d.ports.first}-${d.ports.last}`));
    expect(new Set(ports)).toEqual(new Set(['80-80', '443-443']));
    expect(rules.flatMap((r) => r.srcIPs)).toContain(laptop.node!.ipv4);
    expect(db.map.packetFilter.flatMap((r) => r.srcIPs)).not.toContain(laptop.node!.ipv4);

    const opsVersion = opsbox.map.version;
    await t.setPolicy(SEGMENTED.replace('"tag:web:80,443"', '"tag:web:80"'));
    await web.until(
      (x) => x.map.packetFilter.every((r) => r.dstPorts.every((d) => d.ports.first === 80)),
      'web filter narrowed',
    );
    // opsbox's view did not change, so it was sent nothing.
    await new Promise((r) => setTimeout(r, 100));
    expect(opsbox.map.version).toBe(opsVersion);
  });

  it('resumes from the last version after a reconnect with only what changed meanwhile', async () => {
    const a = await joined('alpha');
    await a.until((x) => x.map.version >= 0, 'first map');
    a.stop();
    // Wait until the server has seen the stream close, so nothing is in flight to alpha.
    await a.until(() => !t.server.engine.isOnline(a.node!.id), 'alpha offline at the server');
    const versionBefore = a.map.version;
    const b = await joined('beta');
    await b.until((x) => x.map.version >= 0, 'beta map');
    let sawFull = false;
    const { MapStream } = await import('../../../client/control/map-stream.ts');
    const resumed = new MapStream(a.control, {
      onMap: (_s, change) => {
        sawFull ||= change.full;
      },
    });
    resumed.state.version = a.map.version;
    resumed.state.peers = new Map(a.map.peers);
    resumed.start();
    try {
      await a.until(() => [...resumed.state.peers.values()].some((p) => p.name === 'beta'), 'beta after resume');
      expect(sawFull).toBe(false);
      expect(resumed.state.version).toBeGreaterThan(versionBefore);
    } finally {
      resumed.stop();
    }
  });

  it('gives an unknown resume version a full map', async () => {
    const a = await joined('alpha');
    await a.until((x) => x.map.version >= 0, 'first map');
    a.stop();
    const { MapStream } = await import('../../../client/control/map-stream.ts');
    let full = false;
    const s = new MapStream(a.control, {
      onMap: (_s, change) => {
        full ||= change.full;
      },
    });
    s.state.version = 12345; // never sent
    s.start();
    try {
      await a.until(() => full, 'full map');
    } finally {
      s.stop();
    }
  });

  it('gives a stream that moved here from another replica a full map with a higher version than it had', async () => {
    const a = await joined('alpha');
    await a.until((x) => x.map.version >= 0, 'first map');
    a.stop();
    const { MapStream } = await import('../../../client/control/map-stream.ts');
    let fullVersion = -1;
    const s = new MapStream(a.control, {
      onMap: (state, change) => {
        if (change.full) fullVersion = state.version;
      },
    });
    // Another replica started later numbers its maps from a later clock than this one.
    const elsewhere = Date.now() * 2;
    s.state.version = elsewhere;
    s.start();
    try {
      await a.until(() => fullVersion >= 0, 'full map');
      expect(fullVersion).toBeGreaterThan(elsewhere);
    } finally {
      s.stop();
    }
  });

  it('marks peers online and offline', async () => {
    const a = await joined('alpha');
    const b = await joined('beta');
    const online = () => [...a.map.peers.values()].find((p) => p.name === 'beta')?.online;
    await a.until(() => online() === true, 'beta online');
    b.stop();
    await a.until(() => online() === false, 'beta offline');
    const beta = [...a.map.peers.values()].find((p) => p.name === 'beta')!;
    expect(beta.lastSeen).toBeDefined();
  });

  it('takes an expired node out of every map and closes its stream', async () => {
    const a = await joined('alpha');
    const b = await joined('beta');
    await b.until((x) => x.map.version >= 0, 'beta connected');
    const res = await t.admin('POST', `/api/v1/nodes/${b.node!.id}/expire`, {});
    expect(res.status).toBe(200);
    await a.until((x) => !x.peerNames().includes('beta'), 'beta gone');
    await b.until((x) => x.goodbye !== undefined, 'beta told');
    expect(b.goodbye?.code).toBe('node.expired');
  });

  it('removes an ephemeral node after it disconnects and the grace passes', async () => {
    await t.stop();
    t = await startTestServer({ nodes: { ephemeralGraceSeconds: 1 } });
    const a = await joined('alpha');
    const e = await joined('eph', { ephemeral: true });
    await a.until((x) => [...x.map.peers.values()].some((p) => p.name === 'eph' && p.online), 'eph online');
    e.stop();
    await a.until((x) => !x.peerNames().includes('eph'), 'eph removed');
    expect(await t.server.store.nodes.get(e.node!.id)).toBeUndefined();
  });

  it('keeps identity and addresses across a key rotation and tells peers the new key', async () => {
    const a = await joined('alpha');
    const b = await joined('beta');
    await a.until((x) => x.peerNames().includes('beta'), 'beta visible');
    const { generateKeyPair } = await import('../../../client/wireguard/keys.ts');
    const fresh = generateKeyPair();
    const rotated = await b.control.rotateKey(fresh.publicKey);
    expect(rotated.id).toBe(b.node!.id);
    expect(rotated.ipv4).toBe(b.node!.ipv4);
    await a.until(
      (x) => [...x.map.peers.values()].some((p) => p.wireguardKey === fresh.publicKey),
      'new key announced',
    );
  });

  it('rebuilds the network from the database after a restart', async () => {
    const dataDir = t.dataDir;
    const a = await joined('alpha');
    const b = await joined('beta');
    await a.until((x) => x.peerNames().includes('beta'), 'beta visible');
    for (const x of agents.splice(0)) x.stop();
    await t.server.close();
    const again = await startTestServer({}, dataDir);
    try {
      const a2 = new TestAgent(again.url, 'alpha', a.machine);
      agents.push(a2.connect());
      await a2.until(
        (x) => x.peerNames().includes('beta') && x.map.self?.ipv4 === a.node!.ipv4,
        'same map after restart',
      );
      expect(b.node).toBeDefined();
    } finally {
      for (const x of agents.splice(0)) x.stop();
      await again.stop();
      rmSync(dataDir, { recursive: true, force: true });
      t = await startTestServer();
    }
  });
});
