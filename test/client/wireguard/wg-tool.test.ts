import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { parseWgDump, wgSetCommands } from '../../../client/wireguard/wg-tool.ts';

const dev = generateKeyPair();
const [p1, p2] = [generateKeyPair().publicKey, generateKeyPair().publicKey];

describe('the wg tool as a configuration channel', () => {
  it('passes secret keys on stdin, one command each, and everything else in one `wg set`', () => {
    const psk = generateKeyPair().publicKey;
    const cmds = wgSetCommands('wg0', {
      device: { privateKey: dev.privateKey, listenPort: 51820, fwmark: 0 },
      peers: [
        {
          publicKey: p1,
          presharedKey: psk,
          endpoint: '[fd00::1]:51820',
          persistentKeepalive: 0,
          allowedIPs: ['100.64.0.2/32', 'fd7a::2/128'],
        },
        { publicKey: p2, remove: true },
      ],
    });
    expect(cmds).toEqual([
      { args: ['set', 'wg0', 'private-key', '/dev/stdin'], input: `${dev.privateKey}\n` },
      { args: ['set', 'wg0', 'peer', p1, 'preshared-key', '/dev/stdin'], input: `${psk}\n` },
      {
        args: [
          'set',
          'wg0',
          'listen-port',
          '51820',
          'fwmark',
          'off',
          'peer',
          p1,
          'endpoint',
          '[fd00::1]:51820',
          'persistent-keepalive',
          'off',
          'allowed-ips',
          '100.64.0.2/32,fd7a::2/128',
          'peer',
          p2,
          'remove',
        ],
      },
    ]);
    expect(JSON.stringify(cmds.map((c) => c.args))).not.toContain(dev.privateKey);
  });

  it('clears a preshared key with /dev/null and allowed IPs with an empty list', () => {
    expect(
      wgSetCommands('wg0', { peers: [{ publicKey: p1, updateOnly: true, presharedKey: null, allowedIPs: [] }] }),
    ).toEqual([{ args: ['set', 'wg0', 'peer', p1, 'preshared-key', '/dev/null', 'allowed-ips', ''] }]);
  });

  it('validates like the socket protocol does', () => {
    expect(() => wgSetCommands('wg0', { peers: [{ publicKey: p1, endpoint: 'host:1' }] })).toThrowError(
      expect.objectContaining({ code: 'wireguard.invalid_config' }),
    );
  });

  it('reads `wg show dump`', () => {
    const dump = [
      `${dev.privateKey}\t${dev.publicKey}\t51820\toff`,
      `${p1}\t(none)\t10.0.0.2:51820\t100.64.0.2/32,fd7a::2/128\t1700000000\t5678\t1234\t25`,
      `${p2}\t${generateKeyPair().publicKey}\t(none)\t(none)\t0\t0\t0\toff`,
      '',
    ].join('\n');
    expect(parseWgDump(dump)).toEqual({
      publicKey: dev.publicKey,
      listenPort: 51820,
      fwmark: 0,
      peers: [
        {
          publicKey: p1,
          hasPresharedKey: false,
          endpoint: '10.0.0.2:51820',
          lastHandshake: new Date(1_700_000_000_000),
          rxBytes: 5678,
          txBytes: 1234,
          persistentKeepalive: 25,
          allowedIPs: ['100.64.0.2/32', 'fd7a::2/128'],
        },
        { publicKey: p2, hasPresharedKey: true, rxBytes: 0, txBytes: 0, persistentKeepalive: 0, allowedIPs: [] },
      ],
    });
    expect(parseWgDump('(none)\t(none)\t0\t42')).toEqual({ listenPort: 0, fwmark: 42, peers: [] });
    expect(() => parseWgDump('garbage')).toThrowError(expect.objectContaining({ code: 'wireguard.uapi_protocol' }));
  });
});
