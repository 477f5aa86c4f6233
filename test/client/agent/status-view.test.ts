import { describe, expect, it } from 'vitest';
import { pathSummary, statusView } from '../../../client/agent/status-view.ts';
import { formatStatus } from '../../../client/cli/status.ts';
import { describeUp } from '../../../client/cli/up.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import type { Peer, SelfNode } from '../../../protocol/node.ts';
import { PROTOCOL_VERSION } from '../../../protocol/version.ts';

const key = () => generateKeyPair().publicKey;
const peer = (name: string, n: number, extra: Partial<Peer> = {}): Peer => ({
  id: `n-${name}`,
  name,
  wireguardKey: key(),
  addresses: [`100.64.0.${n}/32`],
  allowedIPs: [`100.64.0.${n}/32`],
  endpoints: [],
  tags: [],
  online: true,
  ...extra,
});
const self: SelfNode = {
  ...peer('me', 1, { user: 'me@example.com' }),
  machineKey: key(),
  ipv4: '100.64.0.1',
  ipv6: 'fd7a:115c:a1e0::1',
  ephemeral: false,
  advertisedRoutes: [],
  approvedRoutes: [],
};
const web = peer('web', 2, { tags: ['tag:web'] });
const db = peer('db', 3, { user: 'ops@example.com' });
const base = {
  state: 'running' as const,
  connected: true,
  iface: 'trellis0',
  listenPort: 41641,
  mapVersion: 7,
  serverUrl: 'https://t.example.com',
  self,
};

describe('status: the map joined with what WireGuard reports', () => {
  const handshake = new Date('2026-11-22T10:00:00Z');
  const device = {
    listenPort: 41641,
    fwmark: 0,
    peers: [
      {
        publicKey: web.wireguardKey,
        hasPresharedKey: false,
        endpoint: '10.0.0.2:41641',
        lastHandshake: handshake,
        rxBytes: 2048,
        txBytes: 1536,
        persistentKeepalive: 0,
        allowedIPs: web.allowedIPs,
      },
    ],
  };

  it('takes endpoint, handshake and transfer from the device, by public key; peers sorted by name', () => {
    const s = statusView({ ...base, peers: [web, db], device });
    expect(s.peers.map((p) => p.name)).toEqual(['db', 'web']);
    expect(s.peers[1]).toMatchObject({
      endpoint: '10.0.0.2:41641',
      lastHandshake: '2026-11-22T10:00:00.000Z',
      rxBytes: 2048,
      txBytes: 1536,
      tags: ['tag:web'],
    });
  });

  it('shows a peer the device does not have (yet) as never shaken hands, with no traffic', () => {
    const db0 = statusView({ ...base, peers: [db], device }).peers[0]!;
    expect(db0).toMatchObject({ rxBytes: 0, txBytes: 0, user: 'ops@example.com' });
    expect(db0).not.toHaveProperty('lastHandshake');
    expect(db0).not.toHaveProperty('endpoint');
  });

  it("names each peer's path as the path manager holds it (direct, or the relay, also while a trial points elsewhere), with the measured latency", () => {
    const relayed = peer('relayed', 4);
    const withRelayed = {
      ...device,
      peers: [...device.peers, { ...device.peers[0]!, publicKey: relayed.wireguardKey, endpoint: '203.0.113.5:3478' }],
    };
    const s = statusView({
      ...base,
      peers: [web, relayed, db],
      device: withRelayed,
      relayEndpoint: '203.0.113.5:3478',
      paths: (id) => (id === web.id ? { direct: '10.0.0.2:41641', latencyMs: 1.234 } : undefined),
    });
    const byName = Object.fromEntries(s.peers.map((p) => [p.name, p]));
    expect(byName.web).toMatchObject({ path: 'direct', endpoint: '10.0.0.2:41641', latencyMs: 1.2 });
    expect(byName.relayed).toMatchObject({ path: 'relay', endpoint: '203.0.113.5:3478' });
    expect(byName.relayed).not.toHaveProperty('latencyMs');
    expect(byName.db).not.toHaveProperty('path');
    // What the server is told (protocol/path-report.ts): the same peers, counted by path.
    expect(pathSummary(s.peers)).toEqual({ direct: 1, relay: 1, none: 1 });
  });

  it('shows a relayed peer on the relay while a path trial points WireGuard at one of its candidates', () => {
    const relayed = peer('relayed', 4);
    const midTrial = {
      ...device,
      peers: [{ ...device.peers[0]!, publicKey: relayed.wireguardKey, endpoint: '10.77.3.10:41641' }],
    };
    const s = statusView({ ...base, peers: [relayed], device: midTrial, relayEndpoint: '203.0.113.5:3478' });
    expect(s.peers[0]).toMatchObject({ path: 'relay', endpoint: '203.0.113.5:3478' });
  });

  it('counts a peer with an endpoint but no completed handshake as having no path yet', () => {
    const s = statusView({
      ...base,
      peers: [web],
      device: { ...device, peers: [{ ...device.peers[0]!, lastHandshake: undefined }] },
    });
    expect(s.peers[0]).toMatchObject({ path: 'direct', endpoint: '10.0.0.2:41641' });
    expect(pathSummary(s.peers)).toEqual({ direct: 0, relay: 0, none: 1 });
  });

  it('prints one line per peer for people, and says when the server is away', () => {
    const relayed = peer('relayed', 4);
    const withRelayed = {
      ...device,
      peers: [
        ...device.peers,
        { ...device.peers[0]!, publicKey: relayed.wireguardKey, endpoint: '203.0.113.5:3478', rxBytes: 0, txBytes: 0 },
      ],
    };
    const view = statusView({
      ...base,
      connected: false,
      peers: [web, db, relayed],
      device: withRelayed,
      relayEndpoint: '203.0.113.5:3478',
      paths: (id) => (id === web.id ? { direct: '10.0.0.2:41641', latencyMs: 3.25 } : undefined),
    });
    const text = formatStatus(view, new Date('2026-11-22T10:00:42Z'));
    expect(text).toBe(
      [
        'state:  running (server unreachable, last map in force) https://t.example.com',
        'self:   me  100.64.0.1  fd7a:115c:a1e0::1  me@example.com  trellis0:41641',
        'PEER     ADDRESSES   OWNER            PATH                    LATENCY  HANDSHAKE  TRANSFER',
        'db       100.64.0.3  ops@example.com  -                       -        never      rx 0 B tx 0 B',
        'relayed  100.64.0.4                   relay 203.0.113.5:3478  -        42s ago    rx 0 B tx 0 B',
        'web      100.64.0.2  tag:web          direct 10.0.0.2:41641   3.3 ms   42s ago    rx 2.0 KiB tx 1.5 KiB',
        '',
      ].join('\n'),
    );
  });

  it('says how WireGuard reaches the relay: UDP, or the WebSocket where UDP is blocked', () => {
    expect(statusView({ ...base, peers: [], relayTransport: 'websocket' }).relayTransport).toBe('websocket');
    expect(statusView({ ...base, peers: [] })).not.toHaveProperty('relayTransport');
    const lines = (t: 'udp' | 'websocket') =>
      formatStatus(statusView({ ...base, peers: [], relayTransport: t }), new Date()).split('\n');
    expect(lines('websocket')[2]).toBe('relay:  over a WebSocket to the server (UDP to it is blocked)');
    expect(lines('udp')[2]).toBe('relay:  UDP');
    // A relayed peer's endpoint is then the local bridge: the path says WebSocket instead.
    const relayed = peer('relayed', 4);
    const bridge = '127.0.0.1:50123';
    const onBridge = { ...device, peers: [{ ...device.peers[0]!, publicKey: relayed.wireguardKey, endpoint: bridge }] };
    const text = formatStatus(
      statusView({ ...base, peers: [relayed], device: onBridge, relayEndpoint: bridge, relayTransport: 'websocket' }),
      new Date(),
    );
    expect(text).toContain('relay (WebSocket)');
    expect(text).not.toContain(bridge);
  });

  it("says where the mesh's names are answered, and what to do when no system resolver asks there", () => {
    const dns = (system: 'systemd-resolved' | 'none') =>
      formatStatus(
        statusView({ ...base, peers: [], dns: { domain: 'mesh.example.internal', server: '100.100.100.100', system } }),
        new Date(),
      ).split('\n')[2];
    expect(dns('systemd-resolved')).toBe('dns:    <name>.mesh.example.internal at 100.100.100.100');
    expect(dns('none')).toBe(
      'dns:    <name>.mesh.example.internal at 100.100.100.100; no systemd-resolved here: send mesh.example.internal to 100.100.100.100 in your resolver',
    );
    expect(statusView({ ...base, peers: [] })).not.toHaveProperty('dns');
  });

  it('tells approved routes from those awaiting approval, with the command that approves them', () => {
    const router = { ...self, advertisedRoutes: ['10.1.0.0/24', '10.2.0.0/24'], approvedRoutes: ['10.1.0.0/24'] };
    const view = statusView({ ...base, self: router, peers: [] });
    expect(view.self?.routes).toEqual([
      { prefix: '10.1.0.0/24', approved: true },
      { prefix: '10.2.0.0/24', approved: false },
    ]);
    const line =
      'routes: 10.1.0.0/24 approved, 10.2.0.0/24 awaiting approval (an administrator approves with: trellis-server nodes approve-routes n-me 10.1.0.0/24 10.2.0.0/24)';
    expect(formatStatus(view, new Date()).split('\n')[2]).toBe(line);
    expect(describeUp(view).split('\n')).toContain(line);
    const approved = statusView({ ...base, self: { ...router, approvedRoutes: router.advertisedRoutes }, peers: [] });
    expect(formatStatus(approved, new Date()).split('\n')[2]).toBe(
      'routes: 10.1.0.0/24 approved, 10.2.0.0/24 approved',
    );
    expect(statusView({ ...base, peers: [] }).self).not.toHaveProperty('routes');
  });

  it('puts the policy warning on a line of its own, with or without peers', () => {
    const policyWarning = 'this server runs the allow-all starter policy';
    const view = statusView({ ...base, peers: [], policyWarning });
    expect(formatStatus(view, new Date())).toBe(
      [
        'state:  running (connected) https://t.example.com',
        'self:   me  100.64.0.1  fd7a:115c:a1e0::1  me@example.com  trellis0:41641',
        `warning: ${policyWarning}`,
        'no peers',
        '',
      ].join('\n'),
    );
    expect(describeUp(view)).toBe(
      [
        'up: me is 100.64.0.1 and fd7a:115c:a1e0::1 on https://t.example.com',
        '0 peers',
        `warning: ${policyWarning}`,
        'signed in as me@example.com',
      ].join('\n'),
    );
    expect(formatStatus(statusView({ ...base, peers: [] }), new Date())).not.toContain('warning');
  });

  it("names both sides' protocol versions, the server's once its map named one", () => {
    expect(statusView({ ...base, peers: [] }).protocol).toEqual({ agent: PROTOCOL_VERSION });
    expect(statusView({ ...base, peers: [], serverProtocolVersion: 7 }).protocol).toEqual({
      agent: PROTOCOL_VERSION,
      server: 7,
    });
  });
});
