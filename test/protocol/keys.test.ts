import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { MachineKey, WireGuardKey, keyBytes } from '../../protocol/keys.ts';
import { ServerMessage } from '../../protocol/map.ts';
import { LOW_ORDER_X25519, NON_CANONICAL_LOW_ORDER_X25519, SMALL_ORDER_ED25519, respelled } from '../support/keys.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
/** The code a key schema names for what is wrong, or undefined when the key is accepted. */
const codeOf = (result: z.ZodSafeParseResult<string>) => {
  const issue = result.error?.issues[0];
  return issue?.code === 'custom' ? issue.params?.code : issue?.code;
};

describe('public keys on the wire', () => {
  const wireguard = b64(x25519.getPublicKey(x25519.utils.randomSecretKey()));
  const machine = b64(ed25519.getPublicKey(ed25519.utils.randomSecretKey()));

  it('accepts keys made from real private keys', () => {
    expect(WireGuardKey.safeParse(wireguard).success).toBe(true);
    expect(MachineKey.safeParse(machine).success).toBe(true);
  });

  it('has one spelling per key: the other base64 spellings of the same bytes are refused', () => {
    for (const key of [wireguard, machine]) {
      const other = respelled(key);
      expect(Buffer.from(other, 'base64')).toEqual(Buffer.from(key, 'base64'));
      expect(keyBytes(other)).toBeUndefined();
    }
    expect(codeOf(WireGuardKey.safeParse(respelled(wireguard)))).toBe('key.not_canonical');
    expect(codeOf(MachineKey.safeParse(respelled(machine)))).toBe('key.not_canonical');
  });

  it('refuses every low-order WireGuard key, in every spelling', () => {
    for (const key of LOW_ORDER_X25519) expect(codeOf(WireGuardKey.safeParse(key)), key).toBe('key.low_order');
    for (const key of NON_CANONICAL_LOW_ORDER_X25519)
      expect(codeOf(WireGuardKey.safeParse(key)), key).toBe('key.not_canonical');
  });

  it('refuses every small-order machine key', () => {
    for (const key of SMALL_ORDER_ED25519) expect(codeOf(MachineKey.safeParse(key)), key).toBe('key.low_order');
  });

  it('refuses a machine key that is no point, or no canonical encoding of one', () => {
    const noPoint = Buffer.alloc(32);
    noPoint[0] = 2; // y = 2 has no x on Ed25519
    expect(codeOf(MachineKey.safeParse(b64(noPoint)))).toBe('key.not_on_curve');
    const yAtLeastP = Buffer.alloc(32, 0xff);
    yAtLeastP[31] = 0x7f;
    expect(codeOf(MachineKey.safeParse(b64(yAtLeastP)))).toBe('key.not_canonical');
  });

  it('lets the agent refuse a map whose peer has a low-order key', () => {
    const peer = {
      id: 'n-1',
      name: 'peer',
      wireguardKey: LOW_ORDER_X25519[0],
      addresses: [],
      allowedIPs: [],
      endpoints: [],
      tags: [],
      online: true,
    };
    const delta = { type: 'delta', version: 2, fromVersion: 1, peersUpserted: [peer] };
    const result = ServerMessage.safeParse(delta);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join('.')).toBe('peersUpserted.0.wireguardKey');
    expect(ServerMessage.safeParse({ ...delta, peersUpserted: [{ ...peer, wireguardKey: wireguard }] }).success).toBe(
      true,
    );
  });
});
