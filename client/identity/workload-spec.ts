import { z } from 'zod';

/**
 * How a workload agent proves who it is, as the CLI asks for it and the state directory keeps
 * it (so a restarted agent goes on renewing): which credential type to present, and where its
 * token comes from. The token itself is never stored; it is read from the source each time.
 */
export const TokenFileSource = z.strictObject({
  type: z.literal('file'),
  /** Absolute: the agent, not the CLI, reads it. */
  path: z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'must be an absolute path'),
});

export const WorkloadSource = z.discriminatedUnion('type', [TokenFileSource]);
export type WorkloadSource = z.infer<typeof WorkloadSource>;

export const WorkloadSpec = z.strictObject({
  credential: z.enum(['spiffe-jwt', 'kubernetes']),
  /** Kubernetes only: the server's name for the cluster (else the token's `iss` picks it). */
  cluster: z.string().min(1).max(128).optional(),
  source: WorkloadSource,
});
export type WorkloadSpec = z.infer<typeof WorkloadSpec>;

export function describeSpec(s: WorkloadSpec): string {
  return `${s.credential}${s.cluster ? ` (cluster ${s.cluster})` : ''} from token file ${s.source.path}`;
}
