import { ed25519 } from '@noble/curves/ed25519.js';

/**
 * The machine key (Ed25519) identifies this machine to the server and signs every control
 * request. It is separate from the WireGuard key, which may rotate while identity stays.
 */
export interface MachineKeyPair {
  privateKey: string; // base64
  publicKey: string; // base64
}

export function generateMachineKey(): MachineKeyPair {
  const secret = ed25519.utils.randomSecretKey();
  return {
    privateKey: Buffer.from(secret).toString('base64'),
    publicKey: Buffer.from(ed25519.getPublicKey(secret)).toString('base64'),
  };
}

export function machinePublicKeyOf(privateKey: string): string {
  return Buffer.from(ed25519.getPublicKey(Buffer.from(privateKey, 'base64'))).toString('base64');
}
