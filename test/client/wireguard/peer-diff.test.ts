import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { diffPeers, type PeerConfig } from '../../../client/wireguard/peer-diff.ts';
import type { PeerState } from '../../../client/wireguard/uapi-format.ts';

const [a, b, c] = [generateKeyPair().publicKey, generateKeyPair().publicKey, generateKeyPair().publicKey] as const;

const state = (publicKey: string, extra: Partial<PeerState> = {}): PeerState => ({
  publicKey,
  hasPresharedKey: false,
  rxBytes: 0,
  txBytes: 0,
  persistentKeepalive: 0,
  allowedIPs: [],
  ...extra,
});

describe('incremental peer updates', () => {
  it('adds new peers with everything they need', () => {
    const desired: PeerConfig[] = [
      { publicKey: a, endpoint: '10.0.0.2:51820', allowedIPs: ['100.64.0.2/32'], persistentKeepalive: 25 },
    ];
    const { sections, changes } = diffPeers([], desired);
    expect(sections).toEqual([
      { publicKey: a, endpoint: '10.0.0.2:51820', persistentKeepalive: 25, allowedIPs: ['100.64.0.2/32'] },
    ]);
    expect(changes).toEqual({ added: [a], updated: [], removed: [] });
  });

  it('sends nothing for peers that did not change, whatever the order or spelling of allowed IPs', () => {
    const current = [state(a, { endpoint: '10.0.0.2:51820', allowedIPs: ['100.64.0.2/32', 'fd7a::2/128'] })];
    const desired = [{ publicKey: a, endpoint: '10.0.0.2:51820', allowedIPs: ['FD7A:0::2/128', '100.64.0.2/32'] }];
    expect(diffPeers(current, desired).sections).toEqual([]);
  });

  it('updates only the fields that changed, with update_only and replace_allowed_ips', () => {
    const current = [state(a, { allowedIPs: ['100.64.0.2/32'] }), state(b, { allowedIPs: ['100.64.0.3/32'] })];
    const desired = [
      { publicKey: a, allowedIPs: ['100.64.0.2/32', '10.1.0.0/16'] },
      { publicKey: b, allowedIPs: ['100.64.0.3/32'], persistentKeepalive: 25 },
    ];
    const { sections, changes } = diffPeers(current, desired);
    expect(sections).toEqual([
      { publicKey: a, updateOnly: true, allowedIPs: ['100.64.0.2/32', '10.1.0.0/16'] },
      { publicKey: b, updateOnly: true, persistentKeepalive: 25 },
    ]);
    expect(changes.updated).toEqual([a, b]);
  });

  it('removes peers that are no longer wanted, before anything is added', () => {
    const { sections, changes } = diffPeers(
      [state(a), state(b)],
      [
        { publicKey: b, allowedIPs: [] },
        { publicKey: c, allowedIPs: [] },
      ],
    );
    expect(sections).toEqual([
      { publicKey: a, remove: true },
      { publicKey: c, allowedIPs: [] },
    ]);
    expect(changes).toEqual({ added: [c], updated: [], removed: [a] });
  });

  it('does not undo roaming: an unchanged desired endpoint is not resent when the peer moved', () => {
    const desired = [{ publicKey: a, endpoint: '10.0.0.2:51820', allowedIPs: [] }];
    const roamed = [state(a, { endpoint: '192.0.2.7:40000' })];
    expect(diffPeers(roamed, desired, new Map([[a, desired[0]!]])).sections).toEqual([]);
    const moved = [{ ...desired[0]!, endpoint: '10.0.0.9:51820' }];
    expect(diffPeers(roamed, moved, new Map([[a, desired[0]!]])).sections).toEqual([
      { publicKey: a, updateOnly: true, endpoint: '10.0.0.9:51820' },
    ]);
  });

  it('without a record of what it sent, sets the endpoint when the device has another one', () => {
    expect(
      diffPeers(
        [state(a, { endpoint: '192.0.2.7:40000' })],
        [{ publicKey: a, endpoint: '10.0.0.2:51820', allowedIPs: [] }],
      ).sections,
    ).toEqual([{ publicKey: a, updateOnly: true, endpoint: '10.0.0.2:51820' }]);
  });

  it('sets, changes and clears preshared keys', () => {
    const psk = generateKeyPair().publicKey;
    const psk2 = generateKeyPair().publicKey;
    const want = { publicKey: a, allowedIPs: [], presharedKey: psk };
    expect(diffPeers([state(a)], [want]).sections).toEqual([{ publicKey: a, updateOnly: true, presharedKey: psk }]);
    const withPsk = [state(a, { hasPresharedKey: true })];
    expect(diffPeers(withPsk, [want], new Map([[a, want]])).sections).toEqual([]);
    expect(diffPeers(withPsk, [{ ...want, presharedKey: psk2 }], new Map([[a, want]])).sections).toEqual([
      { publicKey: a, updateOnly: true, presharedKey: psk2 },
    ]);
    expect(diffPeers(withPsk, [{ publicKey: a, allowedIPs: [] }]).sections).toEqual([
      { publicKey: a, updateOnly: true, presharedKey: null },
    ]);
  });

  it('rejects a desired list that names a peer twice or holds a bad value, saying where', () => {
    expect(() =>
      diffPeers(
        [],
        [
          { publicKey: a, allowedIPs: [] },
          { publicKey: a, allowedIPs: [] },
        ],
      ),
    ).toThrowError(/listed twice/);
    expect(() => diffPeers([], [{ publicKey: a, allowedIPs: ['100.64.0.0/33'] }])).toThrowError(
      expect.objectContaining({
        code: 'wireguard.invalid_config',
        message: expect.stringContaining('peers[0]: allowedIPs[0]'),
      }),
    );
    expect(() => diffPeers([], [{ publicKey: 'nope', allowedIPs: [] }])).toThrowError(/peers\[0\]: publicKey/);
  });
});
