import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asFullMap, StateStore, type SavedMap } from '../../../client/agent/state-store.ts';
import { generateMachineKey } from '../../../client/control/machine-key.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';

describe('the state directory', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'trellis-state-')), 'state');
    store = new StateStore(dir);
    store.init();
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('is reachable but not listable by others, and every file in it is 0600', () => {
    expect(statSync(dir).mode & 0o777).toBe(0o711);
    store.writeKeys({ machinePrivateKey: 'm', wireguardPrivateKey: 'w' });
    store.writeNode({
      serverUrl: 'http://s',
      hostname: 'h',
      advertiseRoutes: [],
      advertiseTags: [],
      wantRunning: true,
    });
    for (const f of ['keys.json', 'node.json']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('reads back what it wrote, and nothing when nothing was written', () => {
    expect(store.readKeys()).toBeUndefined();
    store.writeKeys({ machinePrivateKey: 'm', wireguardPrivateKey: 'w' });
    expect(new StateStore(dir).readKeys()).toEqual({ machinePrivateKey: 'm', wireguardPrivateKey: 'w' });
  });

  it('names the file and the field when a file is damaged', () => {
    writeFileSync(join(dir, 'node.json'), '{"serverUrl": 1}');
    expect(() => store.readNode()).toThrow(
      expect.objectContaining({
        code: 'agent.state_unreadable',
        message: expect.stringContaining(`${join(dir, 'node.json')}: serverUrl:`),
      }),
    );
    writeFileSync(join(dir, 'map.json'), '{');
    expect(() => store.readMap()).toThrow(
      expect.objectContaining({ code: 'agent.state_unreadable', message: expect.stringContaining('is not JSON') }),
    );
  });

  it('forgets the node but keeps the keys unless told', () => {
    store.writeKeys({ machinePrivateKey: 'm', wireguardPrivateKey: 'w' });
    store.writeNode({
      serverUrl: 'http://s',
      hostname: 'h',
      advertiseRoutes: [],
      advertiseTags: [],
      wantRunning: true,
    });
    store.forget();
    expect(store.readNode()).toBeUndefined();
    expect(store.readKeys()).toBeDefined();
    store.forget({ keys: true });
    expect(store.readKeys()).toBeUndefined();
  });

  it('keeps the relay with the saved map, so a restarted agent resumes on it; a map saved before relays still reads', () => {
    const key = generateKeyPair().publicKey;
    const saved: SavedMap = {
      version: 3,
      packetFilter: [],
      peers: [],
      self: {
        id: 'n1',
        name: 'a',
        wireguardKey: key,
        machineKey: generateMachineKey().publicKey,
        addresses: [],
        allowedIPs: [],
        endpoints: [],
        tags: [],
        online: true,
        ipv4: '100.64.0.1',
        ipv6: 'fd7a:115c:a1e0::1',
        ephemeral: false,
        advertisedRoutes: [],
        approvedRoutes: [],
      },
      relay: { udpPort: 3478, wsPath: '/relay', wireguardKey: key },
    };
    store.writeMap(saved);
    expect(store.readMap()).toEqual(saved);
    expect(asFullMap(store.readMap()!).relay).toEqual(saved.relay);
    const { relay: _r, ...older } = saved;
    store.writeMap(older);
    expect(asFullMap(store.readMap()!).relay).toEqual({ udpPort: 0, wsPath: '' });
  });
});
