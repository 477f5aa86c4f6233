import { describe, expect, it } from 'vitest';
import { base64ToHex, generateKeyPair } from '../../../client/wireguard/keys.ts';
import { formatSetRequest, parseGetResponse, splitErrno } from '../../../client/wireguard/uapi-format.ts';

const dev = generateKeyPair();
const p1 = generateKeyPair();
const p2 = generateKeyPair();
const hex = (k: string) => base64ToHex(k);

describe('UAPI set requests', () => {
  it('writes device settings, then one section per peer, ending with an empty line', () => {
    const text = formatSetRequest({
      device: { privateKey: dev.privateKey, listenPort: 51820, fwmark: 0x42 },
      peers: [
        {
          publicKey: p1.publicKey,
          endpoint: '10.0.0.2:51820',
          persistentKeepalive: 25,
          allowedIPs: ['100.64.0.2/32', 'fd7a::2/128'],
        },
        { publicKey: p2.publicKey, remove: true },
      ],
    });
    expect(text).toBe(
      [
        'set=1',
        `private_key=${hex(dev.privateKey)}`,
        'listen_port=51820',
        'fwmark=66',
        `public_key=${hex(p1.publicKey)}`,
        'endpoint=10.0.0.2:51820',
        'persistent_keepalive_interval=25',
        'replace_allowed_ips=true',
        'allowed_ip=100.64.0.2/32',
        'allowed_ip=fd7a::2/128',
        `public_key=${hex(p2.publicKey)}`,
        'remove=true',
        '',
        '',
      ].join('\n'),
    );
  });

  it('sends update_only, clears a preshared key with the zero key, and takes [v6]:port endpoints', () => {
    const text = formatSetRequest({
      peers: [{ publicKey: p1.publicKey, updateOnly: true, presharedKey: null, endpoint: '[fd00::2]:51820' }],
    });
    expect(text).toContain(`update_only=true\npreshared_key=${'0'.repeat(64)}\nendpoint=[fd00::2]:51820\n\n`);
    expect(text).not.toContain('replace_allowed_ips');
  });

  it("an empty allowed-IP list clears the peer's allowed IPs", () => {
    expect(formatSetRequest({ peers: [{ publicKey: p1.publicKey, allowedIPs: [] }] })).toMatch(
      /replace_allowed_ips=true\n\n$/,
    );
  });

  it.each([
    ['an endpoint with a host name', { endpoint: 'example.com:51820' }],
    ['an endpoint with a newline', { endpoint: '10.0.0.1:1\nremove=true' }],
    ['an IPv6 endpoint without brackets', { endpoint: 'fd00::1:51820' }],
    ['a port out of range', { endpoint: '10.0.0.1:70000' }],
    ['an allowed IP with host bits', { allowedIPs: ['100.64.0.1/10'] }],
    ['an allowed IP that is no address', { allowedIPs: ['100.64.0.256/32'] }],
    ['a negative keepalive', { persistentKeepalive: -1 }],
  ])('refuses %s before anything is sent', (_what, peer) => {
    expect(() => formatSetRequest({ peers: [{ publicKey: p1.publicKey, ...peer }] })).toThrowError(
      expect.objectContaining({ code: 'wireguard.invalid_config' }),
    );
  });
});

describe('UAPI get answers', () => {
  const answer = [
    `private_key=${hex(dev.privateKey)}`,
    'listen_port=51820',
    `public_key=${hex(p1.publicKey)}`,
    `preshared_key=${'0'.repeat(64)}`,
    'protocol_version=1',
    'endpoint=10.0.0.2:51820',
    'last_handshake_time_sec=1700000000',
    'last_handshake_time_nsec=250000000',
    'tx_bytes=1234',
    'rx_bytes=5678',
    'persistent_keepalive_interval=25',
    'allowed_ip=100.64.0.2/32',
    'allowed_ip=fd7a::2/128',
    `public_key=${hex(p2.publicKey)}`,
    `preshared_key=${'ab'.repeat(32)}`,
    'protocol_version=1',
    'last_handshake_time_sec=0',
    'last_handshake_time_nsec=0',
    'tx_bytes=0',
    'rx_bytes=0',
    'persistent_keepalive_interval=0',
    'some_future_key=whatever',
    'errno=0',
    '',
    '',
  ].join('\n');

  it('parses the device and each peer, with handshake time, transfer counters and endpoint', () => {
    const { body, errno } = splitErrno(answer);
    expect(errno).toBe(0);
    const state = parseGetResponse(body);
    expect(state).toMatchObject({ publicKey: dev.publicKey, listenPort: 51820, fwmark: 0 });
    expect(state.peers).toEqual([
      {
        publicKey: p1.publicKey,
        hasPresharedKey: false,
        endpoint: '10.0.0.2:51820',
        lastHandshake: new Date(1_700_000_000_250),
        txBytes: 1234,
        rxBytes: 5678,
        persistentKeepalive: 25,
        allowedIPs: ['100.64.0.2/32', 'fd7a::2/128'],
      },
      {
        publicKey: p2.publicKey,
        hasPresharedKey: true,
        txBytes: 0,
        rxBytes: 0,
        persistentKeepalive: 0,
        allowedIPs: [],
      },
    ]);
  });

  it('takes a handshake time no date can hold as no handshake, and refuses a count beyond 2^53', () => {
    const far = answer.replace('last_handshake_time_sec=1700000000', 'last_handshake_time_sec=99999999999999999');
    expect(() => parseGetResponse(splitErrno(far).body)).toThrowError(
      expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
    );
    const beyondDates = answer.replace('last_handshake_time_sec=1700000000', 'last_handshake_time_sec=9000000000000');
    const [peer] = parseGetResponse(splitErrno(beyondDates).body).peers;
    expect(peer!.lastHandshake).toBeUndefined();
    const huge = answer.replace('tx_bytes=1234', 'tx_bytes=123456789012345678901234567890');
    expect(() => parseGetResponse(splitErrno(huge).body)).toThrowError(
      expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
    );
  });

  it('never exposes the private key', () => {
    expect(JSON.stringify(parseGetResponse(splitErrno(answer).body))).not.toContain(dev.privateKey);
  });

  it('reads errno as a signed number (wireguard-go writes it negated)', () => {
    expect(splitErrno('errno=-22\n\n')).toEqual({ body: '', errno: -22 });
    expect(splitErrno('errno=5\n\n').errno).toBe(5);
  });

  it('rejects answers without an errno line or with malformed lines', () => {
    expect(() => splitErrno('listen_port=1\n\n')).toThrowError(
      expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
    );
    expect(() => parseGetResponse('listen_port\n')).toThrowError(
      expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
    );
    expect(() => parseGetResponse(`public_key=${hex(p1.publicKey)}\nrx_bytes=-1\n`)).toThrowError(
      expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
    );
  });

  it('refuses a port, mark or keepalive interval beyond what its field holds', () => {
    // Found by the UAPI fuzzer: listen_port=65536 or 2^32 read back as a port that cannot exist.
    for (const line of [
      'listen_port=65536',
      'listen_port=4294967296',
      'fwmark=4294967296',
      `public_key=${hex(p1.publicKey)}\npersistent_keepalive_interval=65536`,
    ]) {
      expect(() => parseGetResponse(`${line}\n`)).toThrowError(
        expect.objectContaining({ code: 'wireguard.uapi_protocol' }),
      );
    }
    expect(parseGetResponse('listen_port=65535\nfwmark=4294967295\n')).toMatchObject({
      listenPort: 65535,
      fwmark: 4294967295,
    });
  });
});
