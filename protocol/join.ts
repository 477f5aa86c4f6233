import { z } from 'zod';
import { MachineKey, WireGuardKey } from './keys.ts';
import { SelfNode } from './node.ts';
import { Route } from './route.ts';
import { RoutePriority } from './route-health.ts';

/**
 * `POST /api/v1/machine/register`. The request is proved with the machine key in the body
 * (see proof.ts), so a captured request cannot register anything else.
 */
const PreAuthKeyCredential = z.strictObject({
  type: z.literal('preauth-key'),
  key: z.string().min(1).max(256),
});

/**
 * A JWT-SVID (compact JWS) whose `aud` names the server's configured SPIFFE audience. The server
 * checks the size itself (64 KiB here only bounds the body), so a refusal is audited.
 */
const SpiffeJwtCredential = z.strictObject({
  type: z.literal('spiffe-jwt'),
  token: z.string().min(1).max(65_536),
});

/** A projected service-account token; `cluster` names the configured cluster, else its `iss` picks it. */
const KubernetesCredential = z.strictObject({
  type: z.literal('kubernetes'),
  token: z.string().min(1).max(65_536),
  cluster: z.string().min(1).max(128).optional(),
});

/** A completed sign-in (see login.ts), started by this same machine key. */
const OidcCredential = z.strictObject({
  type: z.literal('oidc'),
  loginId: z.string().min(1).max(128),
});

export const Credential = z.discriminatedUnion('type', [
  PreAuthKeyCredential,
  SpiffeJwtCredential,
  KubernetesCredential,
  OidcCredential,
]);
export type Credential = z.infer<typeof Credential>;

const Hostname = z.string().min(1).max(253);

export const RegisterRequest = z.strictObject({
  protocolVersion: z.number().int().positive(),
  wireguardKey: WireGuardKey,
  machineKey: MachineKey,
  hostname: Hostname,
  credential: Credential,
  advertiseRoutes: z.array(Route).max(256).optional(),
  advertiseTags: z.array(z.string().max(128)).max(64).optional(),
  /** `--route-priority` (protocol 9): higher wins the election for a prefix; absent: 100. */
  routePriority: RoutePriority.optional(),
  os: z.string().max(64).optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

/** The answer of every machine endpoint that registers, reads or changes the calling node. */
export const NodeResponse = z.object({ node: SelfNode });
export type NodeResponse = z.infer<typeof NodeResponse>;

/** `POST /api/v1/machine/rotate-key`: a new WireGuard key; identity and addresses stay. */
export const RotateKeyRequest = z.strictObject({ wireguardKey: WireGuardKey });
export type RotateKeyRequest = z.infer<typeof RotateKeyRequest>;

/** `POST /api/v1/machine/update`: what the agent may change about itself. */
export const UpdateSelfRequest = z.strictObject({
  hostname: Hostname.optional(),
  advertiseRoutes: z.array(Route).max(256).optional(),
  /** `--route-priority` (protocol 9); absent: unchanged. */
  routePriority: RoutePriority.optional(),
  endpoints: z.array(z.string().max(64)).max(16).optional(),
});
export type UpdateSelfRequest = z.infer<typeof UpdateSelfRequest>;
