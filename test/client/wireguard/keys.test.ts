import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { base64ToHex, generateKeyPair, hexToBase64, isBase64Key, publicKeyOf } from '../../../client/wireguard/keys.ts';
import { respelled } from '../../support/keys.ts';
import { describeWith, hasCommand } from '../../support/prerequisites.ts';

describe('WireGuard keys', () => {
  it('makes a fresh, valid key pair each time', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(isBase64Key(a.privateKey) && isBase64Key(a.publicKey)).toBe(true);
    expect(a.privateKey).not.toBe(b.privateKey);
    expect(publicKeyOf(a.privateKey)).toBe(a.publicKey);
  });

  it('clamps private keys as `wg genkey` does', () => {
    const raw = Buffer.from(generateKeyPair().privateKey, 'base64');
    expect(raw[0]! & 7).toBe(0);
    expect(raw[31]! & 0xc0).toBe(0x40);
  });

  it('converts between base64 and the 64-char lowercase hex of the UAPI', () => {
    const { publicKey } = generateKeyPair();
    const hex = base64ToHex(publicKey);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(hexToBase64(hex)).toBe(publicKey);
  });

  it('rejects malformed keys with a typed error that does not echo the value', () => {
    const secretish = 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=';
    expect(() => base64ToHex(secretish, 'private key')).toThrowError(
      expect.objectContaining({ code: 'wireguard.invalid_key', message: expect.not.stringContaining(secretish) }),
    );
    expect(() => hexToBase64('ABCD'.repeat(16))).toThrowError(
      expect.objectContaining({ code: 'wireguard.invalid_key' }),
    );
    expect(isBase64Key('A'.repeat(43) + '=')).toBe(true);
    expect(isBase64Key('A'.repeat(44))).toBe(false);
  });

  it('takes a key only in its canonical base64 spelling, so that keys compare as text', () => {
    const { publicKey } = generateKeyPair();
    expect(isBase64Key(respelled(publicKey))).toBe(false);
    expect(() => base64ToHex(respelled(publicKey))).toThrowError(
      expect.objectContaining({ code: 'wireguard.invalid_key' }),
    );
  });
});

describeWith([hasCommand('wg', 'wireguard-tools')], 'WireGuard keys and wireguard-tools', () => {
  it('derive the same public key as `wg pubkey`', () => {
    const { privateKey, publicKey } = generateKeyPair();
    expect(execFileSync('wg', ['pubkey'], { input: privateKey }).toString().trim()).toBe(publicKey);
  });
});
