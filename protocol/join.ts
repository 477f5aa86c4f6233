import { z } from 'zod';
import { MachineKey, WireGuardKey } from './keys.ts';
import { SelfNode } from './node.ts';

/**
 * `POST /api/v1/machine/register`. The request is proved with the machine key in the body
 * (see proof.ts), so a captured request cannot register anything else.
 */
export const PreAuthKeyCredential = z.strictObject({
  type: z.literal('preauth-key'),
  key: z.string().min(1).max(256),
});

/** Later authenticators (OIDC, SPIFFE JWT-SVID, Kubernetes token) join this union. */
export const Credential = z.discriminatedUnion('type', [PreAuthKeyCredential]);
export type Credential = z.infer<typeof Credential>;

const Hostname = z.string().min(1).max(253);
const Cidr = z.string().min(3).max(43);

export const RegisterRequest = z.strictObject({
  protocolVersion: z.number().int().positive(),
  wireguardKey: WireGuardKey,
  machineKey: MachineKey,
  hostname: Hostname,
  credential: Credential,
  advertiseRoutes: z.array(Cidr).max(256).optional(),
  advertiseTags: z.array(z.string().max(128)).max(64).optional(),
  os: z.string().max(64).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterResponse = z.object({ node: SelfNode });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** `POST /api/v1/machine/rotate-key`: a new WireGuard key; identity and addresses stay. */
export const RotateKeyRequest = z.strictObject({ wireguardKey: WireGuardKey });
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>;

/** `POST /api/v1/machine/update`: what the agent may change about itself. */
export const UpdateSelfRequest = z.strictObject({
  hostname: Hostname.optional(),
  advertiseRoutes: z.array(Cidr).max(256).optional(),
  endpoints: z.array(z.string().max(64)).max(16).optional(),
});
export type UpdateSelfRequest = z.infer<typeof UpdateSelfRequest>;
