import { z } from 'zod';

/**
 * Public keys travel as standard base64 of 32 bytes (44 characters), as `wg` prints them.
 * WireGuard keys are X25519; machine keys are Ed25519.
 */
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

export const PublicKey = z.string().regex(BASE64_32, 'must be a 32-byte key in base64 (44 characters ending in "=")');
export type PublicKey = z.infer<typeof PublicKey>;

export const WireGuardKey = PublicKey.describe('WireGuard public key (X25519, base64)');
export const MachineKey = PublicKey.describe('machine public key (Ed25519, base64)');
