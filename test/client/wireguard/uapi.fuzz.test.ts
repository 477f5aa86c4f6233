import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UapiClient } from '../../../client/wireguard/uapi-client.ts';
import { formatSetRequest, parseGetResponse, splitErrno } from '../../../client/wireguard/uapi-format.ts';
import { generateKeyPair } from '../../../client/wireguard/keys.ts';
import { expectCodedError, fuzz, fuzzAsync, mutatedText, outcome } from '../../support/fuzz.ts';

const hexOf = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
const keys = Array.from({ length: 3 }, () => generateKeyPair());
const counts = fc.oneof(fc.nat(), fc.constantFrom('18446744073709551615', '9'.repeat(400), '-1', '1e3', ''));

/** `get=1` answers as wireguard-go writes them, with a trailing errno line. */
const peerLines = fc
  .record({
    key: fc.constantFrom(...keys.map((k) => hexOf(k.publicKey))),
    sec: counts,
    nsec: counts,
    rx: counts,
    keepalive: counts,
    ips: fc.array(fc.constantFrom('10.0.0.1/32', 'fd7a::1/128', '0.0.0.0/0'), { maxLength: 2 }),
  })
  .map((p) =>
    [
      `public_key=${p.key}`,
      `preshared_key=${'0'.repeat(64)}`,
      'endpoint=192.0.2.1:51820',
      `last_handshake_time_sec=${p.sec}`,
      `last_handshake_time_nsec=${p.nsec}`,
      `rx_bytes=${p.rx}`,
      'tx_bytes=0',
      `persistent_keepalive_interval=${p.keepalive}`,
      ...p.ips.map((ip) => `allowed_ip=${ip}`),
    ].join('\n'),
  );
const answers = fc
  .tuple(
    fc.constantFrom(...keys.map((k) => hexOf(k.privateKey))),
    counts,
    fc.array(peerLines, { maxLength: 3 }),
    fc.integer({ min: -100, max: 1 }),
  )
  .map(([key, port, peers, errno]) =>
    [`private_key=${key}`, `listen_port=${port}`, 'fwmark=0', ...peers, `errno=${errno}`, '', ''].join('\n'),
  );
const texts = fc.oneof(answers, mutatedText(answers), fc.string());

/** A UAPI answer read back: every count a safe integer, every time a real one. */
function expectSane(text: string): void {
  const result = outcome(() => {
    const { body } = splitErrno(text);
    return parseGetResponse(body);
  }, 'wireguard');
  if (!('value' in result)) return;
  const state = result.value;
  for (const n of [state.listenPort, state.fwmark]) expect(Number.isSafeInteger(n)).toBe(true);
  for (const peer of state.peers) {
    for (const n of [peer.rxBytes, peer.txBytes, peer.persistentKeepalive]) expect(Number.isSafeInteger(n)).toBe(true);
    if (peer.lastHandshake) expect(Number.isNaN(peer.lastHandshake.getTime())).toBe(false);
  }
}

describe('UAPI text from the WireGuard device', () => {
  it('reads back as a sane device state, or is refused with a wireguard code', () => {
    // Found by this property: counts beyond their field (a port of 2^64-1 or 65536, a time past the Date range).
    fuzz(fc.property(texts, expectSane), {
      runs: 300,
      examples: [
        ['listen_port=18446744073709551615\nerrno=0\n\n'],
        ['listen_port=65536\nerrno=0\n\n'],
        [`public_key=${hexOf(keys[0]!.publicKey)}\nlast_handshake_time_sec=${'9'.repeat(400)}\nerrno=0\n\n`],
      ],
    });
  });
});

describe('UAPI set requests built from any settings', () => {
  it('are refused with a wireguard code, or are key=value lines that say exactly what was asked', () => {
    const anyText = fc.oneof(fc.string(), fc.constantFrom(...keys.map((k) => k.publicKey)), fc.constant('a\nb=c'));
    const settings = fc.record({
      privateKey: fc.option(fc.oneof(fc.constantFrom(...keys.map((k) => k.privateKey)), anyText), { nil: undefined }),
      listenPort: fc.option(fc.oneof(fc.integer({ min: -1, max: 70000 }), fc.double()), { nil: undefined }),
      peers: fc.array(
        fc.record({
          publicKey: fc.oneof(fc.constantFrom(...keys.map((k) => k.publicKey)), anyText),
          endpoint: fc.option(fc.oneof(fc.constantFrom('192.0.2.1:51820', '[fd00::1]:1', '1.2.3.4:0'), anyText), {
            nil: undefined,
          }),
          allowedIPs: fc.option(
            fc.array(fc.oneof(fc.constantFrom('10.0.0.0/8', 'fd7a::/48'), anyText), { maxLength: 2 }),
            {
              nil: undefined,
            },
          ),
          persistentKeepalive: fc.option(fc.integer({ min: -1, max: 70000 }), { nil: undefined }),
        }),
        { maxLength: 3 },
      ),
    });
    fuzz(
      fc.property(settings, ({ privateKey, listenPort, peers }) => {
        const result = outcome(() => formatSetRequest({ device: { privateKey, listenPort }, peers }), 'wireguard');
        if (!('value' in result)) return;
        const lines = result.value.split('\n');
        expect(lines.slice(-2)).toEqual(['', '']);
        for (const line of lines.slice(0, -2)) expect(line).toMatch(/^[a-z_]+=[0-9a-f.:/[\]a-z]+$/);
        expect(lines.filter((l) => l.startsWith('public_key=')).length).toBe(peers.length);
      }),
      { runs: 300 },
    );
  });
});

describe('the UAPI client, given any answer on the socket', () => {
  let dir: string;
  let server: Server;
  let answer: (text: string) => void = () => {};
  let next = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-uapi-fuzz-'));
    server = createServer((socket) => {
      socket.once('data', () => {
        socket.end(next);
        answer(next);
      });
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'wg0.sock'), resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves to a sane state or rejects with a wireguard code', async () => {
    const client = new UapiClient('wg0', join(dir, 'wg0.sock'), 2_000);
    await fuzzAsync(
      fc.asyncProperty(texts, async (text) => {
        next = text;
        answer = () => {};
        try {
          const state = await client.get();
          expect(Number.isSafeInteger(state.listenPort)).toBe(true);
        } catch (err) {
          expectCodedError(err, 'wireguard');
        }
      }),
      { runs: 40 },
    );
  });
});
